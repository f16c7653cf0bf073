// The gateway, its packaging and these tests are Linux-only (GPIO character devices, Mosquitto, dpkg, systemd).
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
