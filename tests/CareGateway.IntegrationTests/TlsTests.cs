using System.Diagnostics;
using CareGateway.Tests;
using CareGateway.Uplink;
using Xunit.Abstractions;

namespace CareGateway.IntegrationTests;

/// <summary>
/// TLS as the normal configuration, against Mosquitto with a TLS listener on loopback and certificates the test makes
/// with openssl: mutual TLS with a pinned CA, a broker from another CA refused, and username/password as the alternative.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // Mosquitto tests run on Linux
public class TlsTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_gateway_with_the_pinned_ca_and_its_client_certificate_connects_over_mutual_tls_and_its_alarms_arrive()
    {
        using var pki = await TestPki.CreateAsync();
        var ca = await pki.CaAsync("ca");
        await pki.IssueAsync("ca", "server", "localhost", server: true);
        var (cert, key) = await pki.IssueAsync("ca", "gw-tls-1", "gw-tls-1", server: false);
        var tlsPort = MosquittoBroker.FreePort();
        await using var broker = await MosquittoBroker.StartAsync(pki.TlsListener(tlsPort, "ca", "server"));
        using var dir = new TempDir();
        await using var centre = await CentreRecorder.StartAsync(broker); // on the broker's plain loopback listener

        var options = UplinkUnderTest.FastOptions("gw-tls-1", "127.0.0.1", tlsPort) with
        {
            ConnectTimeout = TimeSpan.FromSeconds(10),
            Tls = new TlsOptions { CaFile = ca, CertFile = cert, KeyFile = key },
        };
        await using var gateway = new UplinkUnderTest(dir.Path, options, new TestOutputLogger(output, "uplink"));
        await gateway.Connects.WaitForAsync(1, Bound, "connected over mutual TLS");
        await gateway.RaiseAsync(5);
        await centre.Distinct.WaitForAsync(5, Bound, "alarms sent over TLS at the centre");

        centre.AssertExactly([.. gateway.Raised], "gw-tls-1");
    }

    [Fact]
    public async Task A_broker_whose_certificate_is_signed_by_another_ca_is_refused()
    {
        using var pki = await TestPki.CreateAsync();
        var pinned = await pki.CaAsync("ca");
        var rogue = await pki.CaAsync("rogue");
        await pki.IssueAsync("rogue", "server", "localhost", server: true); // valid name, valid dates, wrong CA
        var tlsPort = MosquittoBroker.FreePort();
        await using var broker = await MosquittoBroker.StartAsync(pki.TlsListener(tlsPort, "rogue", "server", requireCertificate: false));
        using var dir = new TempDir();
        using var otherDir = new TempDir();

        var log = new CapturingLogger();
        await using var gateway = new UplinkUnderTest(dir.Path, UplinkUnderTest.FastOptions("gw-tls-2", "127.0.0.1", tlsPort) with { Tls = new TlsOptions { CaFile = pinned } }, log);
        await gateway.FailedConnects.WaitForAsync(2, Bound, "refused connection attempts");
        Assert.Equal(0, gateway.Connects.Value);
        Assert.Contains(log.Lines, l => l.Contains("does not chain to the pinned CA", StringComparison.Ordinal));
        foreach (var line in log.Lines.Take(3))
        {
            output.WriteLine(line);
        }

        // The same broker is fine for a gateway that pins the CA that did sign it: the refusal above was the pinning.
        await using var control = new UplinkUnderTest(otherDir.Path, UplinkUnderTest.FastOptions("gw-tls-3", "127.0.0.1", tlsPort) with { Tls = new TlsOptions { CaFile = rogue } });
        await control.Connects.WaitForAsync(1, Bound, "the control gateway that trusts the broker's CA");
        Assert.Equal(0, gateway.Connects.Value);
    }

    [Fact]
    public async Task A_broker_that_requires_client_certificates_refuses_a_gateway_without_one()
    {
        using var pki = await TestPki.CreateAsync();
        var ca = await pki.CaAsync("ca");
        await pki.IssueAsync("ca", "server", "localhost", server: true);
        var tlsPort = MosquittoBroker.FreePort();
        await using var broker = await MosquittoBroker.StartAsync(pki.TlsListener(tlsPort, "ca", "server"));
        using var dir = new TempDir();

        await using var gateway = new UplinkUnderTest(dir.Path, UplinkUnderTest.FastOptions("gw-tls-4", "127.0.0.1", tlsPort) with { Tls = new TlsOptions { CaFile = ca } });
        await gateway.FailedConnects.WaitForAsync(2, Bound, "refused connection attempts");
        Assert.Equal(0, gateway.Connects.Value);
    }

    [Fact]
    public async Task Username_and_password_work_as_the_alternative_and_the_password_is_never_logged()
    {
        using var pki = await TestPki.CreateAsync();
        const string password = "s3cret-Pa55-word";
        var passwords = pki.PathOf("passwords");
        await RunAsync("mosquitto_passwd", "-b", "-c", passwords, "gw-pw-1", password);
        File.SetUnixFileMode(passwords, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        await using var broker = await MosquittoBroker.StartAsync($"password_file {passwords}");
        using var dir = new TempDir();
        using var wrongDir = new TempDir();

        var wrongLog = new CapturingLogger();
        await using var wrong = new UplinkUnderTest(wrongDir.Path, UplinkUnderTest.FastOptions("gw-pw-1", broker.Host, broker.Port) with { Username = "gw-pw-1", Password = "not-" + password }, wrongLog);
        await wrong.FailedConnects.WaitForAsync(2, Bound, "refused attempts with a wrong password");
        Assert.Equal(0, wrong.Connects.Value);
        Assert.Contains(wrongLog.Lines, l => l.Contains("BadUserNameOrPassword", StringComparison.Ordinal) || l.Contains("NotAuthorized", StringComparison.Ordinal));
        await wrong.DisposeAsync();

        var log = new CapturingLogger();
        await using var gateway = new UplinkUnderTest(dir.Path, UplinkUnderTest.FastOptions("gw-pw-1", broker.Host, broker.Port) with { Username = "gw-pw-1", Password = password }, log);
        await gateway.Connects.WaitForAsync(1, Bound, "connected with username and password");

        Assert.DoesNotContain(wrongLog.Lines.Concat(log.Lines), l => l.Contains(password, StringComparison.Ordinal));
    }

    private static async Task RunAsync(string file, params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true, UseShellExecute = false })!;
        var stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(Bound);
        Assert.True(process.ExitCode == 0, $"{file} failed: {stderr}");
    }
}
