"""The JSON Schemas of Terrain's formats (compiled spec, expression tree), served to clients."""
