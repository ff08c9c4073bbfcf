"""erdrill: failover drills for ExpressRoute with a site-to-site VPN backup."""

__version__ = "0.1.0"
__all__ = ["__version__"]
