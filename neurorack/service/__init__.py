"""Running under systemd: readiness and watchdog notifications, and installing the service."""
