#!/usr/bin/env bash
# Installs what the tests drive, from Debian's packages, when it is
# missing: the aws CLI v2 (package awscli), boto3 (python3-boto3) and
# prlimit (util-linux, for the open-file limit tests) and s3cmd (bucket
# policies).
# A v1 CLI from pip, if present, is used as well by the tests.
set -euo pipefail

need=()
if [ ! -x /usr/bin/aws ] && ! (aws --version 2>&1 | grep -q '^aws-cli/2'); then
  need+=(awscli)
fi
if ! python3 -c 'import boto3' >/dev/null 2>&1; then
  need+=(python3-boto3)
fi
if ! command -v prlimit >/dev/null 2>&1; then
  need+=(util-linux)
fi
if ! command -v s3cmd >/dev/null 2>&1; then
  need+=(s3cmd)
fi
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "installing: ${need[*]}"
sudo=""
if [ "$(id -u)" != 0 ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${need[@]}" >/dev/null
