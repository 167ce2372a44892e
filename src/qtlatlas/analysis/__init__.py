"""Small numerical helpers of the portal (clustering), arrays in and out."""
