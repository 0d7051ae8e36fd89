terraform {
  # 1.3: optional() object attributes. Proved with Terraform 1.15.5.
  required_version = ">= 1.3"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # Works: 3.39 (the offline toolchain: CI applies it to the local stack, with lambda_runtime = python3.8) and
      # 5.76 up to 6.x (5.76.0 is the first release whose validation accepts runtime = "python3.13"; 5.75.1 rejects
      # it). Does not: 4.x (no python3.13; 4.0-4.8 also make the inline S3 bucket blocks read-only) and 5.0-5.75.
      # A constraint is an AND of comparisons (no OR): one range, minus single versions named with `!=`. Any range
      # holding 3.39 and 6.x holds all of 4.x and 5.0-5.75, and naming those ~150 releases with `!=` is no way to keep
      # a file. Each of them fails at `terraform validate`, never later; `terraform init` without a lock file takes
      # the newest 6.x. 7.x is unchecked. README.md, "One code base, two provider lines", says how each is proven.
      version = ">= 3.39, < 7.0"
    }
  }

  # State stays local (terraform.tfstate, ignored). For a real account, see README.md: "Remote state".
}
