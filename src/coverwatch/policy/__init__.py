"""Policy: zones, rules and waivers as data (YAML), evaluated over the inventory."""
