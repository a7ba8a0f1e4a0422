variable "wildcard_domain" {
  type    = string
  default = "coder.example.com"
}
