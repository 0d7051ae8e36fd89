terraform {
  # 1.3: optional() object attributes. Proved with Terraform 1.15.5.
  required_version = ">= 1.3"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 3.39.0 is what the offline toolchain has (and CI proves); current 5.x/6.x are what a user with the
      # registry gets. README.md lists where the two lines differ.
      version = ">= 3.39, < 7.0"
    }
  }

  # State stays local (terraform.tfstate, ignored). For a real account, see README.md: "Remote state".
}
