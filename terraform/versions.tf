terraform {
  # 1.3: optional() object attributes. Proved with Terraform 1.15.5.
  required_version = ">= 1.3"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # The releases users can use. 5.76.0 is the first that accepts runtime = "python3.13" (5.75.1 rejects it);
      # 4.0-4.8 would also make the inline S3 bucket blocks read-only. 7.x is unchecked. `terraform init` without a
      # lock file installs the newest 6.x.
      # Our offline machines have only 3.39.0, which this excludes: the offline toolchain's runs (deploy.py,
      # tests/terraform) replace this entry for themselves with offline_toolchain_override.tf (version = "3.39.0",
      # written by stack/terraform/toolchain.py, deleted after each run, ignored by git).
      # README.md, "One code base, two provider lines", says how each release is proven.
      version = ">= 5.76, < 7.0"
    }
  }

  # State stays local (terraform.tfstate, ignored). For a real account, see README.md: "Remote state".
}
