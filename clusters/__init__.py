"""GKE clusters Hangar deploys onto: registered by a platform admin or created by Hangar."""
