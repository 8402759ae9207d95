"""The texts of who gets in where (issue 44): signing in and out, the big screen's
watch-only page, and the refusals that say what to do instead. Merged into
:mod:`scas_lib.web.texts`' tables (kept apart so that module stays readable)."""

from __future__ import annotations

from typing import Literal

ACCESS_PAGE_TEXTS: dict[str, dict[Literal["en", "zh"], str]] = {
    "sign_out": {"en": "Sign out", "zh": "退出登录"},
    "sign_in_needed": {
        "en": "Sign in as an operator to open this page.",
        "zh": "请以工作人员身份登录后打开此页面。",
    },
    "error_back": {"en": "Back to the start page", "zh": "返回首页"},
    "watch_title": {"en": "A video from", "zh": "视频来自"},
    "watch_hint": {
        "en": "The visitor who made this video keeps their own page: the link from the kiosk.",
        "zh": "视频主人的个人页面是入口处自助机给出的链接。",
    },
}

ACCESS_VISITOR_ERRORS: dict[str, dict[Literal["en", "zh"], str]] = {
    "event_ended": {
        "en": "This event has ended: the cameras no longer film, so you cannot sign up here "
        "any more. Thank you for coming!",
        "zh": "本次活动已经结束，摄像机已停止拍摄，因此无法再在这里登记。感谢您的光临！",  # noqa: RUF001
    },
}
