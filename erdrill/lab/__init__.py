"""The lab: an emulated ExpressRoute + VPN hybrid network in Linux network namespaces."""
