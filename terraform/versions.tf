terraform {
  # 1.3: optional() object attributes. Proved with Terraform 1.15.5.
  required_version = ">= 1.3"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # Works: 3.39 (the offline toolchain; CI applies it to the local stack with lambda_runtime = python3.8) and
      # 5.76 to 6.x (5.76.0 is the first release that accepts runtime = "python3.13"; 5.75.1 rejects it).
      # Does not: 4.x (no python3.13; 4.0-4.8 also make the inline S3 bucket blocks read-only) and 5.0-5.75.
      # A constraint cannot say "A or B": it is one range minus versions named one by one with `!=`, and the ~150
      # releases of 4.x and 5.0-5.75 are too many to name. Each of them fails at plan, before anything changes;
      # `terraform init` without a lock file installs the newest 6.x; 7.x is unchecked.
      # README.md, "One code base, two provider lines", says how each line is proven.
      version = ">= 3.39, < 7.0"
    }
  }

  # State stays local (terraform.tfstate, ignored). For a real account, see README.md: "Remote state".
}
