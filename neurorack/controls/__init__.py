"""Control inputs: where gate edges and CV values come from (scripted now, hardware later)."""
