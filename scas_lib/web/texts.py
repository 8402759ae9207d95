"""What the visitor reads, in each language the pages offer (English and Chinese).

The enrollment gates (scas_lib/faces/enrollment.py) refuse with a ``code`` and an English
message meant for an operator ("the face is 62 px tall, at least 80 are needed"); a visitor
at a kiosk gets the kind sentence for that code here instead, in the language they chose.
The API returns it as the error's ``message`` (``language`` form field or ``?lang=``), and
the pages take all their texts from :func:`page_texts`, so there is one place to translate.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from scas_lib.web.texts_access import ACCESS_PAGE_TEXTS, ACCESS_VISITOR_ERRORS

Language = Literal["en", "zh"]
LANGUAGES: tuple[Language, ...] = ("zh", "en")
DEFAULT_LANGUAGE: Language = "en"
#: Written out, not from the C library's locale: the server's locale is not the visitor's.
MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December")  # fmt: skip

#: Refusals and other errors a visitor can meet, by error code.
VISITOR_ERRORS: dict[str, dict[Language, str]] = {
    "no_face": {
        "en": "We could not see a face. Please look at the camera, uncovered, and try again.",
        "zh": "没有看到面孔。请摘下遮挡物，看着摄像头，再试一次。",  # noqa: RUF001
    },
    "multiple_faces": {
        "en": "There is more than one face in the photo. One person at a time, please.",
        "zh": "照片里有不止一张面孔。请一次只拍一个人。",
    },
    "face_too_small": {
        "en": "Your face is too small in the photo. Please come a little closer.",
        "zh": "照片中的面孔太小了。请靠近一点。",
    },
    "face_too_blurred": {
        "en": "The photo is blurred. Please hold still and try again.",
        "zh": "照片有些模糊。请保持不动，再试一次。",  # noqa: RUF001
    },
    "extreme_pose": {
        "en": "Your head is turned away. Please look straight at the camera.",
        "zh": "您的头部偏转太多。请正视摄像头。",
    },
    "unsupported_image": {
        "en": "This file is not a photo we can read. Please take a photo (JPEG, PNG or WebP).",
        "zh": "无法读取这个文件。请拍一张照片（JPEG、PNG 或 WebP 格式）。",  # noqa: RUF001
    },
    "image_too_large": {
        "en": "The photo is too large. Please take a smaller photo.",
        "zh": "照片太大了。请拍一张小一些的照片。",
    },
    "another_person": {
        "en": "These photos show different people. One person at a time, please.",
        "zh": "这些照片里是不同的人。请一次只登记一个人。",
    },
    "invalid_name": {
        "en": "Please write your name without emoji or symbols (at most 40 characters).",
        "zh": "请填写姓名，不要使用表情符号或特殊符号（最多 40 个字）。",  # noqa: RUF001
    },
    "name_missing": {
        "en": "Please write your name: it appears in your video.",
        "zh": "请填写您的名字：它会出现在您的视频中。",  # noqa: RUF001
    },
    "consent_missing": {
        "en": "Please read the text and tick the box to agree.",
        "zh": "请阅读说明并勾选同意。",
    },
    "consent_changed": {
        "en": "The consent text has changed. The page reloads: please read it again.",
        "zh": "同意书内容已更新。页面将重新加载，请再次阅读。",  # noqa: RUF001
    },
    "photo_missing": {
        "en": "Please take a photo first.",
        "zh": "请先拍一张照片。",
    },
    "rate_limited": {
        "en": "This kiosk is very busy. Please wait a moment and try again.",
        "zh": "此终端太忙了。请稍等片刻再试。",
    },
    "code_tries_limited": {
        "en": "Too many wrong codes were tried just now. Please wait a moment, or scan the QR "
        "code from the kiosk.",
        "zh": "刚才尝试了太多错误的代码。请稍等片刻，或扫描终端上的二维码。",  # noqa: RUF001
    },
    "kiosk_not_paired": {
        "en": "This kiosk is not (or no longer) paired with the event. Please ask the staff.",
        "zh": "此终端未与活动配对（或配对已取消）。请联系工作人员。",  # noqa: RUF001
    },
    "page_not_found": {
        "en": "This link is not valid (any more). If you deleted your data, it is gone.",
        "zh": "此链接无效（或已失效）。如果您已删除数据，数据已不存在。",  # noqa: RUF001
    },
    "unavailable": {
        "en": "Something went wrong on our side. Please try again in a moment.",
        "zh": "系统出了点问题。请稍后再试。",
    },
}

#: Everything else the kiosk and visitor pages show.
PAGE_TEXTS: dict[str, dict[Language, str]] = {
    "kiosk_title": {"en": "Your personal highlight video", "zh": "您的专属精彩视频"},
    "kiosk_intro": {
        "en": "Take a selfie and we will find you in the cameras' footage.",
        "zh": "拍一张自拍，我们会在摄像机的录像中找到您。",  # noqa: RUF001
    },
    "name_label": {"en": "Your name (shown in your video)", "zh": "您的名字（显示在视频中）"},  # noqa: RUF001
    "consent_label": {"en": "I agree", "zh": "我同意"},
    "remember_label": {
        "en": "Also remember me for future events, so that my page shows all my videos (optional)",
        "zh": "在以后的活动中也记住我，让我的页面显示我的所有视频（可选）",  # noqa: RUF001
    },
    "capture": {"en": "Take photo", "zh": "拍照"},
    "retake": {"en": "Retake", "zh": "重拍"},
    "choose_file": {"en": "Choose a photo", "zh": "选择照片"},
    "no_camera": {
        "en": "No camera here: choose a photo instead.",
        "zh": "没有摄像头：请选择一张照片。",  # noqa: RUF001
    },
    "submit": {"en": "Send", "zh": "提交"},
    "success_title": {"en": "You are in!", "zh": "登记成功！"},  # noqa: RUF001
    "success_hint": {
        "en": "Scan the code with your phone to open your page, or type the short code.",
        "zh": "用手机扫描二维码打开您的页面，或输入短码。",  # noqa: RUF001
    },
    "next_visitor": {"en": "Next visitor", "zh": "下一位"},
    "face_guide": {
        "en": "Put your face in the oval, then take the photo",
        "zh": "请将脸放在椭圆内，然后拍照",  # noqa: RUF001
    },
    "countdown_hint": {"en": "Look at the camera", "zh": "请看镜头"},
    # What the server checks, in its order (the kiosk paces them: one request answers).
    "checking_face": {"en": "Looking for your face…", "zh": "正在查找您的面部……"},
    "checking_quality": {"en": "Checking that the photo is sharp…", "zh": "正在检查照片是否清晰……"},
    "checking_page": {"en": "Making your page…", "zh": "正在生成您的页面……"},
    "next_steps_title": {"en": "What happens next", "zh": "接下来"},
    "next_step_event": {
        "en": "Enjoy the event: the cameras find you by this photo.",
        "zh": "尽情享受活动：摄像机会根据这张照片找到您。",  # noqa: RUF001
    },
    "next_step_video": {
        "en": "When your video is ready, it plays on your page and on the big screen at the exit.",
        "zh": "视频制作完成后，会在您的页面和出口的大屏幕上播放。",  # noqa: RUF001
    },
    "visitor_title": {"en": "Your highlight video", "zh": "您的精彩视频"},
    "home_title": {"en": "SCAS highlights", "zh": "SCAS 精彩视频"},
    "home_events": {"en": "Events", "zh": "活动"},
    "home_event": {"en": "Event", "zh": "活动"},
    "home_state": {"en": "State", "zh": "状态"},
    "home_open": {"en": "Open", "zh": "打开"},
    "home_console": {"en": "Console", "zh": "控制台"},
    "home_screen": {"en": "Big screen", "zh": "大屏幕"},
    "home_no_events": {
        "en": "No events yet: add an event file (config/events/) or run `scas simulate`.",
        "zh": "还没有活动：请添加活动文件（config/events/）或运行 `scas simulate`。",  # noqa: RUF001
    },
    "home_api": {"en": "The REST API is described at", "zh": "REST API 文档："},  # noqa: RUF001
    "home_open_page": {"en": "Open my page", "zh": "打开我的页面"},
    "home_operators": {"en": "Operators", "zh": "工作人员"},
    "home_token": {
        "en": "Operator token (SCAS_OPERATOR_TOKEN)",
        "zh": "操作员令牌（SCAS_OPERATOR_TOKEN）",  # noqa: RUF001
    },
    "home_sign_in": {"en": "Sign in", "zh": "登录"},
    "home_sign_in_airflow": {"en": "Sign in to Airflow", "zh": "登录 Airflow"},
    "state_waiting": {
        "en": "The event is still on. Your video is made after it ends.",
        "zh": "活动仍在进行中。视频将在活动结束后制作。",
    },
    "state_making": {
        "en": "Your video is being made. Come back in a few minutes.",
        "zh": "您的视频正在制作中。请几分钟后再来。",
    },
    "state_recognizing": {
        "en": "The event has ended. We are finding you in the cameras' footage.",
        "zh": "活动已结束。我们正在摄像机的录像中寻找您。",
    },
    "state_rendering": {
        "en": "The event has ended and your video is being made. It is ready in a few minutes.",
        "zh": "活动已结束，您的视频正在制作中，几分钟后即可观看。",  # noqa: RUF001
    },
    "progress_segments": {
        "en": "{recognized} of {arrived} pieces of footage looked at",
        "zh": "已查看 {arrived} 段录像中的 {recognized} 段",
    },
    "state_ready": {"en": "Your video is ready.", "zh": "您的视频已完成。"},
    "share": {"en": "Share", "zh": "分享"},
    "share_preparing": {
        "en": "Getting your video ready to share…",
        "zh": "正在准备分享视频……",
    },
    "share_again": {
        "en": "Your video is ready to share: tap Share again.",
        "zh": "视频已准备好：请再点一次“分享”。",  # noqa: RUF001
    },
    "share_downloading": {
        "en": "This browser cannot share a video, so it is being downloaded: share it from "
        "your downloads or photos.",
        "zh": "此浏览器无法直接分享视频，已为您下载：请从下载内容或相册中分享。",  # noqa: RUF001
    },
    "moments_title": {"en": "Your moments", "zh": "您的精彩瞬间"},
    "moment_alt": {"en": "You at {time}", "zh": "{time} 的您"},
    "state_not_seen": {
        "en": "The cameras did not find you, so there is no video. We are sorry.",
        "zh": "摄像机没有拍到您，所以没有视频。非常抱歉。",  # noqa: RUF001
    },
    "download": {"en": "Download", "zh": "下载"},
    "download_vertical": {"en": "Download (vertical)", "zh": "下载（竖屏版）"},  # noqa: RUF001
    "other_visits_title": {"en": "Your other events", "zh": "您参加过的其他活动"},
    "offered_title": {"en": "Were you here too?", "zh": "您也参加过这些活动吗？"},  # noqa: RUF001
    "offered_explain": {
        "en": "You asked to be remembered. We may have seen you at these events: if it was "
        "you, your page will show those videos too.",
        "zh": "您选择了被记住。我们可能在这些活动中见过您：如果是您，页面也会显示那些视频。",  # noqa: RUF001
    },
    "offered_accept": {"en": "This was me", "zh": "是我"},
    "delete_title": {"en": "Delete my data", "zh": "删除我的数据"},
    "delete_explain": {
        "en": "Deletes your photo, your face data and your video everywhere, at every event "
        "linked to this page. This cannot be undone.",
        "zh": "将在所有地方删除您的照片、面部数据和视频，包括与此页面关联的所有活动。"  # noqa: RUF001
        "此操作无法撤销。",
    },
    "delete_confirm": {
        "en": "Yes, delete everything now",
        "zh": "是的，立即全部删除",  # noqa: RUF001
    },
    "cancel": {"en": "Cancel", "zh": "取消"},
    "screen_title": {"en": "Highlights", "zh": "精彩集锦"},
    "screen_idle": {
        "en": "Your highlight video will appear here when it is ready.",
        "zh": "您的精彩视频制作完成后将在这里播放。",
    },
    "screen_scan": {"en": "Scan for your video", "zh": "扫码获取您的视频"},
    "console_title": {"en": "Console", "zh": "控制台"},
    "console_start": {"en": "Start the event", "zh": "开始活动"},
    "console_end": {"en": "End the event", "zh": "结束活动"},
    "console_cameras": {"en": "Cameras", "zh": "摄像机"},
    "console_camera": {"en": "Camera", "zh": "摄像机"},
    "console_last_segment": {"en": "Last segment", "zh": "最新片段"},
    "console_lag": {"en": "Not recognized yet", "zh": "待识别"},
    "console_behind": {
        "en": "Recognition is falling behind real time",
        "zh": "识别速度落后于实时",
    },
    "console_no_cameras": {"en": "No camera has reported yet.", "zh": "尚无摄像机上报状态。"},
    "camera_starting": {"en": "starting", "zh": "启动中"},
    "camera_recording": {"en": "recording", "zh": "录制中"},
    "camera_reconnecting": {"en": "reconnecting", "zh": "重新连接中"},
    "camera_offline": {"en": "offline", "zh": "离线"},
    "camera_stopped": {"en": "stopped", "zh": "已停止"},
    "camera_never": {"en": "no footage", "zh": "无录像"},
    "camera_uploaded": {"en": "footage uploaded", "zh": "录像已上传"},
    "console_segments_arrived": {"en": "Segments", "zh": "片段"},
    "console_recognized": {"en": "recognized", "zh": "已识别"},
    "console_segments": {"en": "segments", "zh": "个片段"},
    "console_kiosks": {"en": "Kiosks", "zh": "自助登记机"},
    "console_pair": {"en": "Pair a kiosk", "zh": "配对登记机"},
    "console_kiosk_label": {"en": "Label", "zh": "名称"},
    "console_revoke": {"en": "Revoke", "zh": "撤销"},
    "console_revoked": {"en": "revoked", "zh": "已撤销"},
    "console_pair_scan": {
        "en": "Scan this code with the kiosk (or open the link on it). It is shown only once.",
        "zh": "用登记机扫描此二维码（或在登记机上打开链接）。它只显示一次。",  # noqa: RUF001
    },
    "console_template": {"en": "Template", "zh": "模板"},
    "console_confirm_delete": {"en": "delete everywhere?", "zh": "从所有地方删除？"},  # noqa: RUF001
    "console_confirm_not_this": {"en": "not this person?", "zh": "不是此人？"},  # noqa: RUF001
    "console_video_waiting": {"en": "waiting", "zh": "等待中"},
    "console_video_making": {"en": "being made", "zh": "制作中"},
    "console_video_ready": {"en": "ready", "zh": "已完成"},
    "console_video_not_seen": {"en": "not seen", "zh": "未拍到"},
    "event_scheduled": {"en": "scheduled", "zh": "未开始"},
    "event_running": {"en": "running", "zh": "进行中"},
    "event_ended": {"en": "ended", "zh": "已结束"},
    "event_done": {"en": "done", "zh": "已完成"},
    "console_live": {"en": "live", "zh": "实时"},
    "console_reconnecting": {"en": "reconnecting…", "zh": "重新连接中…"},
    "console_working": {"en": "working…", "zh": "处理中…"},
    "console_playback": {"en": "Playback", "zh": "回放"},
    "console_enrolled": {"en": "Visitors enrolled", "zh": "已登记访客"},
    "console_people": {"en": "People seen", "zh": "拍到的人数"},
    "console_seen": {"en": "Enrolled visitors seen", "zh": "已拍到的访客"},
    "console_ready": {"en": "Videos ready", "zh": "已完成视频"},
    "console_visitor": {"en": "Visitor", "zh": "访客"},
    "console_video": {"en": "Video", "zh": "视频"},
    "console_seen_on": {"en": "Seen on", "zh": "拍到的摄像机"},
    "console_actions": {"en": "Actions", "zh": "操作"},
    "console_rerender": {"en": "Re-render", "zh": "重新生成"},
    "console_delete": {"en": "Delete", "zh": "删除"},
    "console_moments": {"en": "Moments", "zh": "片段"},
    "console_not_this_person": {"en": "Not this person", "zh": "不是此人"},
    "console_smiles": {"en": "smiles", "zh": "微笑"},
    # The console's header, camera grid, progress and visitor cards. {n}, {lag}, {age}
    # are filled in by the page.
    "console_clock": {"en": "Event time", "zh": "活动时间"},
    "console_visitors": {"en": "Visitors", "zh": "访客"},
    "console_elapsed": {"en": "Elapsed", "zh": "已进行"},
    "console_progress": {"en": "Progress", "zh": "进度"},
    "console_progress_recognition": {"en": "Footage recognized", "zh": "录像识别"},
    "console_progress_videos": {"en": "Videos made", "zh": "视频制作"},
    "console_progress_segments": {
        "en": "{done} of {total} segments",
        "zh": "{done} / {total} 个片段",
    },
    "console_progress_planned": {"en": "{done} of {total} videos", "zh": "{done} / {total} 个视频"},
    "console_progress_failed": {"en": "{n} failed", "zh": "{n} 个失败"},
    "console_eta": {"en": "ETA", "zh": "预计剩余"},
    "console_eta_unknown": {"en": "—", "zh": "暂无"},
    "console_eta_done": {"en": "all done", "zh": "全部完成"},
    "console_health_live": {"en": "live · {lag} behind", "zh": "实时 · 延迟 {lag}"},
    "console_health_behind": {
        "en": "behind: {n} segments ({lag}) not recognized yet",
        "zh": "落后：{n} 个片段（{lag}）待识别",  # noqa: RUF001
    },
    "console_health_offline": {
        "en": "offline: no segment for {age}",
        "zh": "离线：已有 {age} 没有新片段",  # noqa: RUF001
    },
    "console_health_offline_never": {"en": "offline: no segment yet", "zh": "离线：尚无片段"},  # noqa: RUF001
    "console_health_reconnecting": {"en": "reconnecting to the camera", "zh": "正在重新连接摄像机"},
    "console_health_starting": {"en": "starting", "zh": "启动中"},
    "console_health_stopped": {"en": "stopped recording", "zh": "已停止录制"},
    "console_health_uploaded": {
        "en": "footage uploaded · {n} waiting",
        "zh": "录像已上传 · {n} 个待识别",
    },
    "console_health_never": {"en": "no footage from this camera", "zh": "此摄像机没有录像"},
    "console_no_thumbnail": {"en": "no picture yet", "zh": "暂无画面"},
    "console_last_seen": {"en": "last seen", "zh": "最近拍到"},
    "console_not_seen_yet": {"en": "not seen yet", "zh": "尚未拍到"},
    "console_no_poster": {"en": "no video yet", "zh": "尚无视频"},
    "console_menu": {"en": "Actions for {name}", "zh": "{name} 的操作"},
    "console_just_now": {"en": "just now", "zh": "刚刚"},
    "console_seconds_ago": {"en": "{n} s ago", "zh": "{n}秒前"},
    "console_minutes_ago": {"en": "{n} min ago", "zh": "{n}分钟前"},
    "console_hours_ago": {"en": "{n} h ago", "zh": "{n}小时前"},
    "console_days_ago": {"en": "{n} d ago", "zh": "{n}天前"},
    "console_duration_s": {"en": "{n} s", "zh": "{n}秒"},
    "console_duration_min": {"en": "{n} min", "zh": "{n}分钟"},
    "console_duration_h": {"en": "{h} h {m} min", "zh": "{h}小时{m}分钟"},
    "analyses_title": {"en": "Analyse a video", "zh": "分析视频"},
    "analyses_file": {"en": "Video", "zh": "视频"},
    "analyses_event": {"en": "Name the visitors of event", "zh": "识别活动的访客"},
    "analyses_start": {"en": "Analyse", "zh": "开始分析"},
    "analyses_limit": {"en": "at most", "zh": "最大"},
    "analyses_uploading": {"en": "Uploading…", "zh": "正在上传…"},
    "analyses_history": {"en": "Your analyses", "zh": "您的分析"},
    "analyses_open": {"en": "Open", "zh": "打开"},
    "analyses_download_video": {"en": "Download the video", "zh": "下载视频"},
    "analyses_download_json": {"en": "Download the JSON", "zh": "下载 JSON"},
    "analyses_confirm_delete": {"en": "delete this analysis?", "zh": "删除此分析？"},  # noqa: RUF001
    "analyses_failed": {"en": "Failed", "zh": "失败"},
    "analyses_eta": {"en": "about", "zh": "约"},
    "analyses_frames": {"en": "frames", "zh": "帧"},
    "analyses_faces": {"en": "faces", "zh": "张人脸"},
    "analyses_phase_queued": {"en": "Waiting", "zh": "等待中"},
    "analyses_phase_recognizing": {"en": "Recognizing", "zh": "识别中"},
    "analyses_phase_annotating": {"en": "Annotating", "zh": "标注中"},
    "analyses_phase_done": {"en": "Done", "zh": "完成"},
    "analyses_phase_failed": {"en": "Failed", "zh": "失败"},
    "expression_neutral": {"en": "neutral", "zh": "平静"},
    "expression_happy": {"en": "happy", "zh": "开心"},
    "expression_surprise": {"en": "surprised", "zh": "惊讶"},
    "expression_sad": {"en": "sad", "zh": "难过"},
    "expression_angry": {"en": "angry", "zh": "生气"},
    "expression_disgust": {"en": "disgusted", "zh": "厌恶"},
    "expression_fear": {"en": "afraid", "zh": "害怕"},
    "console_state": {"en": "State", "zh": "状态"},
    "live_title": {"en": "Live", "zh": "实时画面"},
    "live_open": {"en": "Watch live", "zh": "实时观看"},
    "live_connecting": {"en": "connecting…", "zh": "连接中…"},
    "live_fps": {"en": "frames/s", "zh": "帧/秒"},
    "live_behind": {"en": "behind the camera", "zh": "延迟"},
    "live_ended": {"en": "The camera's picture stopped.", "zh": "摄像机画面已中断。"},
    "console_started": {"en": "Started", "zh": "开始于"},
    "console_ended": {"en": "Ended", "zh": "结束于"},
    "deleted": {
        "en": "Done: your photo, face data and video have been deleted.",
        "zh": "完成：您的照片、面部数据和视频已被删除。",  # noqa: RUF001
    },
}


PAGE_TEXTS.update(ACCESS_PAGE_TEXTS)
VISITOR_ERRORS.update(ACCESS_VISITOR_ERRORS)


def pick_language(wanted: str | None, accept_language: str | None = None) -> Language:
    """The language asked for (``zh``, ``zh-CN``, ``en-GB``...), else the first one the
    browser accepts that the pages offer, else English.

    >>> pick_language("zh-CN"), pick_language(None, "fr,zh-TW;q=0.8"), pick_language("de")
    ('zh', 'zh', 'en')
    """
    for candidate in [wanted or "", *(accept_language or "").split(",")]:
        base = candidate.split(";")[0].strip().lower().split("-")[0]
        if base in LANGUAGES:
            return base
    return DEFAULT_LANGUAGE


def format_date(day: date, language: Language) -> str:
    """A day as a visitor reads it.

    >>> format_date(date(2026, 11, 2), "en"), format_date(date(2026, 11, 2), "zh")
    ('2 November 2026', '2026年11月2日')
    """
    if language == "zh":
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.day} {MONTHS_EN[day.month - 1]} {day.year}"


def visitor_error(code: str, language: Language) -> str | None:
    """The visitor's sentence for an error code, or None for an error no visitor sees."""
    texts = VISITOR_ERRORS.get(code)
    return texts[language] if texts else None


def page_texts(language: Language) -> dict[str, str]:
    """Every page text in one language (the templates and scripts read these)."""
    return {name: texts[language] for name, texts in PAGE_TEXTS.items()}


def all_texts() -> dict[str, dict[str, str]]:
    """Page texts and refusals in every language, for a page that switches language in
    place (the kiosk)."""
    return {
        language: {
            **page_texts(language),
            **{f"error_{code}": texts[language] for code, texts in VISITOR_ERRORS.items()},
        }
        for language in LANGUAGES
    }
