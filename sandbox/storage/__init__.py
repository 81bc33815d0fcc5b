"""Cloud Storage's JSON API: buckets, objects, bucket IAM."""
