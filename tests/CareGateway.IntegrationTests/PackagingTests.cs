using System.Diagnostics;
using System.Runtime.InteropServices;
using CareGateway.Tests;

namespace CareGateway.IntegrationTests;

/// <summary>
/// The Debian package, as built by hardware/packaging/build-deb.sh: its metadata, its files, its systemd unit, and the
/// packaged binary running a gateway on the simulated board. <c>./test.sh</c> builds the arm64 package and names it in
/// CARE_GATEWAY_DEB, so the binary then runs under qemu user-mode emulation; without that variable the test builds a package for this machine.
/// </summary>
public sealed class PackagingTests : IClassFixture<PackagingTests.BuiltPackage>
{
    private readonly BuiltPackage _package;

    public PackagingTests(BuiltPackage package) => _package = package;

    [Fact]
    public void The_package_metadata_names_what_the_gateway_needs()
    {
        var control = _package.Control;

        Assert.Contains("Package: care-gateway", control, StringComparison.Ordinal);
        Assert.Contains($"Architecture: {_package.Arch}", control, StringComparison.Ordinal);
        var version = System.Text.RegularExpressions.Regex.Match(RepoFiles.Read("Directory.Build.props"), "<Version>(.*)</Version>").Groups[1].Value;
        Assert.Contains($"Version: {version}", control, StringComparison.Ordinal);
        foreach (var dependency in new[] { "libgpiod2", "libssl3", "adduser" })
        {
            Assert.Contains(dependency, control, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_package_holds_the_binary_the_unit_the_config_and_the_templates()
    {
        var root = _package.Extracted;
        Assert.True(File.Exists(Path.Combine(root, "opt/care-gateway/care-gateway")));
        Assert.Equal("/opt/care-gateway/care-gateway", new FileInfo(Path.Combine(root, "usr/bin/care-gateway")).LinkTarget);
        Assert.True(File.Exists(Path.Combine(root, "etc/care-gateway/gateway.json")));
        Assert.True(File.Exists(Path.Combine(root, "usr/share/care-gateway/templates/mosquitto-home.conf")));
        Assert.True(File.Exists(Path.Combine(root, "usr/share/care-gateway/templates/zigbee2mqtt-configuration.yaml")));
        Assert.Equal("/etc/care-gateway/gateway.json", File.ReadAllText(Path.Combine(root, "DEBIAN/conffiles")).Trim());
        Assert.Contains("adduser --quiet care-gateway gpio", File.ReadAllText(Path.Combine(root, "DEBIAN/postinst")), StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, File.GetUnixFileMode(Path.Combine(root, "etc/care-gateway/gateway.json")));
    }

    [Fact]
    public void The_systemd_unit_is_a_hardened_notify_service_with_a_watchdog()
    {
        var unit = File.ReadAllLines(Path.Combine(_package.Extracted, "lib/systemd/system/care-gateway.service"));
        foreach (var line in new[]
        {
            "Type=notify", "WatchdogSec=30", "Restart=always", "RestartPreventExitStatus=2", "User=care-gateway", "SupplementaryGroups=gpio",
            "NoNewPrivileges=yes", "ProtectSystem=strict", "ReadWritePaths=/var/lib/care-gateway", "DevicePolicy=closed", "DeviceAllow=char-gpiochip rw",
            "ExecStart=/opt/care-gateway/care-gateway run --config /etc/care-gateway/gateway.json",
        })
        {
            Assert.Contains(line, unit);
        }
    }

    [Fact]
    public async Task The_systemd_unit_passes_systemd_analyze_verify()
    {
        using var dir = new TempDir();
        var unit = File.ReadAllText(Path.Combine(_package.Extracted, "lib/systemd/system/care-gateway.service"))
            .Replace("/opt/care-gateway/care-gateway", "/bin/true", StringComparison.Ordinal);
        var path = dir.File("care-gateway.service");
        await File.WriteAllTextAsync(path, unit);

        var (code, output) = await BuiltPackage.RunAsync("systemd-analyze", ["verify", path]);

        Assert.True(code == 0, output);
    }

    [Fact]
    public Task The_packaged_binary_runs_a_gateway_whose_simulated_button_raises_an_alarm_on_its_architecture()
    {
        // The shipped native binary, end to end: run on the simulated board, simulate press from a second process, the
        // panic alarm at a subscriber of a real Mosquitto (durable outbox, uplink, trimmed JSON and SQLite all exercised).
        var binary = Path.Combine(_package.Extracted, "opt/care-gateway/care-gateway");
        var native = _package.Arch == BuiltPackage.HostArch;
        return Cli.SimulateTests.PressRaisesThePanicAlarmAsync(
            args => native
                ? Cli.SimulateTests.Launch(binary, args)
                : Cli.SimulateTests.Launch("qemu-aarch64-static", ["-L", "/usr/aarch64-linux-gnu", binary, .. args]),
            TimeSpan.FromMinutes(3));
    }

    [Fact]
    public void The_package_ships_the_gateway_compiled_ahead_of_time_with_its_gc_budget()
    {
        // Native AOT (docs/performance.md): one native executable and SQLite's library, no runtime, no assemblies.
        var opt = Path.Combine(_package.Extracted, "opt/care-gateway");
        var files = Directory.GetFiles(opt).Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(new List<string> { "care-gateway", "libe_sqlite3.so" }, files);

        // The Native AOT runtime reads DOTNET_ numbers as hex without "0x" and ignores "0x400000" silently.
        var unit = File.ReadAllLines(Path.Combine(_package.Extracted, "lib/systemd/system/care-gateway.service"));
        var environment = unit.Single(l => l.StartsWith("Environment=", StringComparison.Ordinal));
        Assert.Contains("DOTNET_GCgen0size=400000", environment["Environment=".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries));
    }

    /// <summary>Builds (or takes) the package once for the class and extracts it.</summary>
    public sealed class BuiltPackage : IAsyncLifetime, IDisposable
    {
        private readonly TempDir _dir = new();

        public static string HostArch => RuntimeInformation.OSArchitecture == Architecture.Arm64 ? "arm64" : "amd64";

        public string Deb { get; private set; } = string.Empty;

        public string Arch { get; private set; } = string.Empty;

        public string Control { get; private set; } = string.Empty;

        public string Extracted => _dir.File("root");

        public async Task InitializeAsync()
        {
            Deb = Environment.GetEnvironmentVariable("CARE_GATEWAY_DEB") ?? string.Empty;
            if (Deb.Length == 0)
            {
                var (code, output) = await RunAsync(RepoFiles.PathOf("hardware", "packaging", "build-deb.sh"), ["--arch", HostArch, "--out", _dir.File("out")]);
                Assert.True(code == 0, output);
                Deb = Directory.GetFiles(_dir.File("out"), "*.deb").Single();
            }

            Assert.True(File.Exists(Deb), $"package not found: '{Deb}'");
            var (fieldCode, arch) = await RunAsync("dpkg-deb", ["-f", Deb, "Architecture"]);
            Assert.Equal(0, fieldCode);
            Arch = arch.Trim();
            (_, var control) = await RunAsync("dpkg-deb", ["-f", Deb]);
            Control = control;
            var (rawCode, rawOutput) = await RunAsync("dpkg-deb", ["-R", Deb, Extracted]);
            Assert.True(rawCode == 0, rawOutput);
        }

        public Task DisposeAsync()
        {
            Dispose();
            return Task.CompletedTask;
        }

        public void Dispose() => _dir.Dispose();

        public static async Task<(int Code, string Output)> RunAsync(string file, string[] args)
        {
            var info = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            using var process = Process.Start(info) ?? throw new InvalidOperationException($"{file} did not start");
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
            return (process.ExitCode, await stdout + await stderr);
        }
    }
}
