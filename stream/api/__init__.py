"""LifeUp's HTTP API (``lifeup api``): scoring, publishing, alerts, health and a page for people."""
