"""Cloud Run Admin v2: services and revisions, what they run, the instances they ran, and the
front end that invokes them."""
