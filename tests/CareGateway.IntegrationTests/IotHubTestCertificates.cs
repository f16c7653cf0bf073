using System.Diagnostics;

namespace CareGateway.IntegrationTests;

/// <summary>
/// A throwaway CA, a server certificate for the stand-in hub's host name and a device certificate (CN = device id),
/// made with openssl in the test's own directory.
/// </summary>
public sealed class IotHubTestCertificates
{
    private IotHubTestCertificates(string dir) => Dir = dir;

    public string Dir { get; }

    public string CaCert => Path.Combine(Dir, "ca.pem");

    public string ServerCert => Path.Combine(Dir, "server.pem");

    public string ServerKey => Path.Combine(Dir, "server.key");

    public string DeviceCert => Path.Combine(Dir, "device.pem");

    public string DeviceKey => Path.Combine(Dir, "device.key");

    public static async Task<IotHubTestCertificates> CreateAsync(string dir, string hostName, string deviceId)
    {
        var c = new IotHubTestCertificates(dir);
        await OpensslAsync(dir, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=care-gateway test CA");
        await File.WriteAllTextAsync(Path.Combine(dir, "server.ext"), $"subjectAltName=DNS:{hostName}\nextendedKeyUsage=serverAuth\n");
        await OpensslAsync(dir, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", $"/CN={hostName}");
        await OpensslAsync(dir, "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "server.ext");
        await File.WriteAllTextAsync(Path.Combine(dir, "device.ext"), "extendedKeyUsage=clientAuth\n");
        await OpensslAsync(dir, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "device.key", "-out", "device.csr", "-subj", $"/CN={deviceId}");
        await OpensslAsync(dir, "x509", "-req", "-in", "device.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "device.pem", "-days", "2", "-extfile", "device.ext");
        return c;
    }

    private static async Task OpensslAsync(string dir, params string[] args)
    {
        var info = new ProcessStartInfo("openssl", args) { WorkingDirectory = dir, RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"openssl {string.Join(' ', args)} failed: {await stderr}");
        }
    }
}
