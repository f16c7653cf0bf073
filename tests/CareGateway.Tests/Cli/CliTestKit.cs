using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using CareGateway.Cli;

namespace CareGateway.Tests.Cli;

/// <summary>Runs a technician command as the command line does (errors become messages and exit codes), capturing its output.</summary>
public static class CliTestKit
{
    public static async Task<(int Code, string Output)> RunAsync(string configPath, Func<CliContext, string, Task<int>> command, bool json = false, TimeProvider? time = null)
    {
        using var writer = new StringWriter();
        var context = CliContext.ForWriter(writer, json, time);
        var code = await CliOptions.InvokeAsync(context, configPath, command);
        return (code, writer.ToString());
    }

    public static JsonElement ParseJson(string output)
    {
        using var doc = JsonDocument.Parse(output);
        return doc.RootElement.Clone();
    }

    /// <summary>A self-signed certificate and its key, as PEM files in <paramref name="dir"/>.</summary>
    public static (string Cert, string Key) SelfSigned(TempDir dir, string name)
    {
        ArgumentNullException.ThrowIfNull(dir);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        var certPath = dir.File(name + ".crt");
        var keyPath = dir.File(name + ".key");
        File.WriteAllText(certPath, cert.ExportCertificatePem());
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        return (certPath, keyPath);
    }

    /// <summary>A valid configuration written to <c>gateway.json</c> in <paramref name="dir"/>, on the simulated board.</summary>
    public static string WriteConfig(TempDir dir, string sensorsJson = "[]", string extra = "", int brokerPort = 1883, int zigbeePort = 1883)
    {
        ArgumentNullException.ThrowIfNull(dir);
        var path = dir.File("gateway.json");
        File.WriteAllText(path, $$"""
            {
              "gatewayId": "gw-7",
              "dataDirectory": "{{dir.File("data")}}",
              "broker": { "host": "127.0.0.1", "port": {{brokerPort}}, "resendAfterSeconds": 1 },
              "board": { "driver": "simulated" },
              "sensors": {{sensorsJson}},
              "zigbee": { "broker": { "host": "127.0.0.1", "port": {{zigbeePort}} } }{{extra}}
            }
            """);
        return path;
    }
}
