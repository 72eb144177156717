"""The workbook engine: config (workbook.toml), parameters, cache, execute (papermill),
render (nbconvert) and publish (the static site)."""
