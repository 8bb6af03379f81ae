"""One module per area of the pages; each an APIRouter of `PageRoute`s, left out of the OpenAPI schema."""
