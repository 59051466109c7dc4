"""Runs the AWS SAM transform on template.yaml offline, as CloudFormation will at deploy time.

cfn-lint checks a SAM template against SAM's schema but no longer runs the transform, so a
template can pass it and still translate into something API Gateway refuses (an intrinsic
where SAM expects a literal, say). This runs the translator with sample parameter values,
once with every optional setting empty and once with all of them set, and fails on any error.

Usage: .venv/bin/python scripts/sam_translate_check.py [template.yaml]
"""

import copy
import logging
import os
import sys

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
# The translator records metrics nobody publishes here, and says so when it exits.
logging.getLogger("samtranslator.metrics").setLevel(logging.ERROR)

from samtranslator.public.exceptions import InvalidDocumentException  # noqa: E402
from samtranslator.translator.transform import transform  # noqa: E402
from samtranslator.yaml_helper import yaml_parse  # noqa: E402

REQUIRED = {
    "Stage": "staging",
    "UpstashRedisRestUrl": "https://example.upstash.io",
    "UpstashRedisRestTokenParam": "/edgestate/staging/upstash-redis-rest-token",
    "JwtSecretParam": "/edgestate/staging/jwt-secret",
}
OPTIONAL = {
    "JwtPreviousSecretParam": "/edgestate/staging/jwt-secret-previous",
    "JwtPreviousKeyId": "k0",
    "SecretsKmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/0000-1111",
    "CorsAllowedOrigins": "https://app.example.com,https://admin.example.com",
}


class NoManagedPolicies:
    """The translator asks for AWS managed policy ARNs by name; the template names none."""

    def load(self):
        return {}


def translate(template, parameters):
    template = copy.deepcopy(template)
    # Local CodeUri paths are replaced by S3 locations when SAM packages; stand one in.
    template.setdefault("Globals", {}).setdefault("Function", {})["CodeUri"] = "s3://bucket/key"
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource.get("Properties", {}).pop("CodeUri", None)
    return transform(template, parameters, NoManagedPolicies())


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "template.yaml"
    with open(path, encoding="utf-8") as file:
        template = yaml_parse(file.read())
    failed = False
    for label, parameters in [
        ("optional settings empty", REQUIRED),
        ("optional settings set", {**REQUIRED, **OPTIONAL}),
    ]:
        try:
            translated = translate(template, parameters)
        except InvalidDocumentException as error:
            failed = True
            for cause in error.causes:
                print(f"{path} ({label}): {cause.message}", file=sys.stderr)
            continue
        count = len(translated.get("Resources", {}))
        print(f"{path} translates ({label}): {count} CloudFormation resources")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
