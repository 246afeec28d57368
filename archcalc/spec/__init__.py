"""Reading specs: safe YAML with line numbers, extends, schema, safe expressions."""
