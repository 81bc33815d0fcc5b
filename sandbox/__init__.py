"""A local stand-in for the Google Cloud APIs Hangar uses and for deployed model servers."""
