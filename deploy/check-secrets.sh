#!/bin/sh
# Refuses to start the deployment with a missing, placeholder or short secret.
# Usage: check-secrets.sh NAME...   (each NAME is an environment variable holding a secret)
# Run by the compose service check-secrets before anything else starts; exits 1 naming
# every bad variable.
bad=0
for name in "$@"; do
    eval "value=\${$name-}"
    case "$value" in
        "") problem="is not set" ;;
        change-me*|changeme*|password*|secret*|admin|minioadmin|postgres|scas)
            problem="is the placeholder of .env.example or a well-known default" ;;
        *)
            if [ "${#value}" -lt 16 ]; then
                problem="is shorter than 16 characters"
            else
                problem=""
            fi ;;
    esac
    if [ -n "$problem" ]; then
        echo "refused: $name $problem; set a real secret in .env (e.g. openssl rand -base64 24)" >&2
        bad=1
    fi
done
[ "$bad" -eq 0 ] && echo "secrets: ok"
exit "$bad"
