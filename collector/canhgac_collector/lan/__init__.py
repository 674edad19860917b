"""The server's LAN domain: what the sites' LAN sensors saw, merged with the SNMP poller's FDB/ARP tables
and the inventory into one device list per site; approved lists; rogue DHCP/ARP detections as events."""
