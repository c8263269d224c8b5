"""How values look on the way in and out: input checks, phones, the JSON contract, text for people."""
