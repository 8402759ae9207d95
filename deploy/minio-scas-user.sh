#!/bin/sh
# Run by the compose service s3-init with MinIO's root credentials (used nowhere else):
# the SCAS buckets, and the user scas-app that SCAS and Airflow use, limited by
# minio-scas-policy.json to those buckets. Safe to run again.
set -eu
mc alias set root http://minio:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD"
for bucket in recordings enrollments highlights; do
    mc mb --ignore-existing "root/$bucket"
done
mc admin policy create root scas-app /deploy/minio-scas-policy.json
mc admin user add root scas-app "$MINIO_APP_PASSWORD"
mc admin policy attach root scas-app --user scas-app 2>/dev/null \
    || mc admin policy entities root --user scas-app | grep -q scas-app
