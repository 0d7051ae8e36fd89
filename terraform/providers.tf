# Credentials and endpoints come from the environment. Locally, stack/terraform/deploy.py adds an override file
# (localstack_providers_override.tf, ignored) that points every service at the local stack.
provider "aws" {
  region = var.region
}
