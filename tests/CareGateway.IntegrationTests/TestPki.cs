using System.Diagnostics;

namespace CareGateway.IntegrationTests;

/// <summary>
/// A throw-away PKI for one test, made with the openssl command line in its own temp directory: a CA, a broker
/// certificate for 127.0.0.1/localhost and client certificates whose common name is the gateway id (what Mosquitto's
/// <c>use_identity_as_username</c> turns into the MQTT username). EC P-256 keys: quick to make.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // Mosquitto tests run on Linux
public sealed class TestPki : IDisposable
{
    private TestPki(string dir) => Dir = dir;

    public string Dir { get; }

    public static async Task<TestPki> CreateAsync()
    {
        var dir = Directory.CreateTempSubdirectory("care-gateway-pki-").FullName;
        // Mosquitto drops root privileges after start; let it read the test's files.
        File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        var pki = new TestPki(dir);
        await File.WriteAllTextAsync(Path.Combine(dir, "server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n");
        await File.WriteAllTextAsync(Path.Combine(dir, "client.ext"), "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n");
        return pki;
    }

    public string PathOf(string name) => Path.Combine(Dir, name);

    /// <summary>Makes a self-signed CA: <c>{name}.pem</c> and <c>{name}.key</c>.</summary>
    public async Task<string> CaAsync(string name)
    {
        await OpenSslAsync("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", PathOf(name + ".key"), "-out", PathOf(name + ".pem"), "-days", "2", "-subj", $"/CN=Care gateway test {name}",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
        return PathOf(name + ".pem");
    }

    /// <summary>Makes <c>{name}.pem</c>/<c>{name}.key</c> with common name <paramref name="commonName"/>, signed by <paramref name="ca"/>.</summary>
    public async Task<(string Cert, string Key)> IssueAsync(string ca, string name, string commonName, bool server)
    {
        await OpenSslAsync("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", PathOf(name + ".key"), "-out", PathOf(name + ".csr"), "-subj", $"/CN={commonName}");
        await OpenSslAsync("x509", "-req", "-in", PathOf(name + ".csr"), "-CA", PathOf(ca + ".pem"), "-CAkey", PathOf(ca + ".key"),
            "-CAcreateserial", "-out", PathOf(name + ".pem"), "-days", "2", "-extfile", PathOf(server ? "server.ext" : "client.ext"));
        foreach (var file in new[] { name + ".pem", name + ".key" })
        {
            File.SetUnixFileMode(PathOf(file), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        }

        return (PathOf(name + ".pem"), PathOf(name + ".key"));
    }

    /// <summary>Mosquitto listener lines for a TLS listener on a free loopback port that requires client certificates.</summary>
    public string TlsListener(int port, string ca, string server, bool requireCertificate = true) => $"""
        listener {port} 127.0.0.1
        cafile {PathOf(ca + ".pem")}
        certfile {PathOf(server + ".pem")}
        keyfile {PathOf(server + ".key")}
        require_certificate {(requireCertificate ? "true" : "false")}
        use_identity_as_username {(requireCertificate ? "true" : "false")}
        """;

    public void Dispose()
    {
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static async Task OpenSslAsync(params string[] args)
    {
        var info = new ProcessStartInfo("openssl", args) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        using var process = Process.Start(info) ?? throw new InvalidOperationException("openssl did not start");
        var stderr = process.StandardError.ReadToEndAsync();
        _ = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"openssl {string.Join(' ', args)} failed: {await stderr}");
        }
    }
}
