"""Pipeline stages, one module per stage; Lambda handlers and Glue jobs call into them."""
