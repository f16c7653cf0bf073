using System.CommandLine;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using CareGateway.Hardware;
using CareGateway.Protocol;
using Spectre.Console;

namespace CareGateway.Cli;

/// <summary>How <c>init</c> gets the gateway's credentials for the centre's broker.</summary>
public enum CredentialMode
{
    /// <summary>A new ECDSA P-256 key and a certificate signing request for the centre to sign.</summary>
    Generate,

    /// <summary>Certificate files the centre issued: its CA, the gateway's certificate and key.</summary>
    Import,

    /// <summary>A user name and password (from a file, or asked at the terminal).</summary>
    Password,
}

public sealed record InitOptions
{
    public string? GatewayId { get; init; }

    public string? BrokerHost { get; init; }

    public int BrokerPort { get; init; } = 8883;

    public string DataDirectory { get; init; } = "/var/lib/care-gateway";

    public BoardModel Board { get; init; } = BoardModel.RaspberryPi4;

    public CredentialMode Credentials { get; init; } = CredentialMode.Generate;

    public string? CaFile { get; init; }

    public string? CertFile { get; init; }

    public string? KeyFile { get; init; }

    public string? Username { get; init; }

    public string? PasswordFile { get; init; }

    public bool Force { get; init; }

    /// <summary>With a password and no TLS: send it in clear to a broker that is not on this machine (a closed test network only).</summary>
    public bool Insecure { get; init; }
}

/// <summary>
/// <c>care-gateway init</c>: the gateway's identity, the centre's broker and the credentials, written as a validated
/// configuration. Secrets go to files under the configuration's directory with owner-only permissions (0600) and are
/// never printed; the configuration names the files, not the secrets.
/// </summary>
public static class InitCommand
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode Public = OwnerOnly | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    public static Command Create()
    {
        var id = new Option<string?>("--gateway-id") { Description = "This gateway's id (1-64 of a-z, 0-9, '-'), as the centre registered it." };
        var host = new Option<string?>("--broker-host") { Description = "The centre's MQTT broker (host name or address)." };
        var port = new Option<int>("--broker-port") { Description = "The centre's broker port.", DefaultValueFactory = _ => 8883 };
        var data = new Option<string>("--data-dir") { Description = "Where the outbox and state live.", DefaultValueFactory = _ => "/var/lib/care-gateway" };
        var board = new Option<string>("--board") { Description = "The board: rpi3, rpi4, rpi5, zero2w, cm4, or simulated (a bench without hardware).", DefaultValueFactory = _ => "rpi4" };
        var mode = new Option<CredentialMode>("--credentials") { Description = "generate (key + CSR for the centre to sign), import (certificate files) or password.", DefaultValueFactory = _ => CredentialMode.Generate };
        var ca = new Option<string?>("--ca-file") { Description = "The centre's CA certificate (PEM) that signed its broker's certificate." };
        var cert = new Option<string?>("--cert-file") { Description = "With --credentials import: the gateway's certificate (PEM)." };
        var key = new Option<string?>("--key-file") { Description = "With --credentials import: the gateway's private key (PEM)." };
        var user = new Option<string?>("--username") { Description = "With --credentials password: the MQTT user name." };
        var passwordFile = new Option<string?>("--password-file") { Description = "With --credentials password: a file holding the password (copied, never printed)." };
        var force = new Option<bool>("--force") { Description = "Replace a valid configuration that is already there (its sensors and care profile are kept)." };
        var insecure = new Option<bool>("--insecure") { Description = "With --credentials password and no --ca-file: allow the password in clear to a broker that is not on this machine (a closed test network only; warns)." };
        var command = new Command("init", "Set up this gateway: its id, the centre's broker and the credentials; writes a validated configuration.")
        {
            id, host, port, data, board, mode, ca, cert, key, user, passwordFile, force, insecure,
        };
        command.SetAction((parse, _) => CliOptions.InvokeAsync(parse, (context, configPath) => RunAsync(
            new InitOptions
            {
                GatewayId = parse.GetValue(id),
                BrokerHost = parse.GetValue(host),
                BrokerPort = parse.GetValue(port),
                DataDirectory = parse.GetValue(data)!,
                Board = ParseBoard(parse.GetValue(board)!),
                Credentials = parse.GetValue(mode),
                CaFile = parse.GetValue(ca),
                CertFile = parse.GetValue(cert),
                KeyFile = parse.GetValue(key),
                Username = parse.GetValue(user),
                PasswordFile = parse.GetValue(passwordFile),
                Force = parse.GetValue(force),
                Insecure = parse.GetValue(insecure),
            },
            configPath,
            context)));
        return command;
    }

    public static BoardModel ParseBoard(string name) => name switch
    {
        "simulated" => BoardModel.Simulated,
        "rpi3" => BoardModel.RaspberryPi3,
        "rpi4" => BoardModel.RaspberryPi4,
        "rpi5" => BoardModel.RaspberryPi5,
        "zero2w" => BoardModel.RaspberryPiZero2W,
        "cm4" => BoardModel.ComputeModule4,
        _ => throw new CliException($"'{name}' is not a board this gateway knows.", "Give --board rpi3, rpi4, rpi5, zero2w, cm4 or simulated."),
    };

    public static Task<int> RunAsync(InitOptions options, string configPath, CliContext context)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(context);
        var existing = ExistingValidConfig(configPath);
        if (existing is not null && !options.Force)
        {
            throw new CliException(
                $"{configPath} already holds a valid configuration (gateway '{existing.GatewayId}').",
                "Give --force to set up new credentials and identity (sensors and care profile are kept), or use 'care-gateway import' to move a home to this unit.");
        }

        var gatewayId = options.GatewayId ?? context.Ask("The gateway id", "--gateway-id");
        if (!GatewayId.IsValid(gatewayId))
        {
            throw new CliException($"'{gatewayId}' is not a gateway id.", "Use 1-64 characters of a-z, 0-9 and '-', as the centre registered the gateway.");
        }

        var brokerHost = options.BrokerHost ?? context.Ask("The centre's broker address", "--broker-host");
        var configDir = Path.GetDirectoryName(Path.GetFullPath(configPath))!;
        var config = existing ?? new GatewayConfig
        {
            Zigbee = new ZigbeeConfig(),
        };
        config.GatewayId = gatewayId;
        config.DataDirectory = options.DataDirectory;
        config.Broker = new BrokerConfig { Host = brokerHost, Port = options.BrokerPort };
        config.IotHub = null;
        if (existing is null)
        {
            config.Board = new BoardConfig
            {
                Driver = options.Board == BoardModel.Simulated ? BoardDriver.Simulated : BoardDriver.Libgpiod,
                Model = options.Board,
            };
        }

        // Validate everything before a single secret is written.
        var errors = ConfigLoader.Validate(config);
        if (errors.Count > 0)
        {
            throw new ConfigException(configPath, errors);
        }

        var written = new List<string>();
        var tlsDir = Path.Combine(configDir, "tls");
        string? csrPath = null;
        switch (options.Credentials)
        {
            case CredentialMode.Generate:
                {
                    var ca = Require(options.CaFile, "the centre's CA certificate", "--ca-file");
                    var caPath = Path.Combine(tlsDir, "centre-ca.pem");
                    var keyPath = Path.Combine(tlsDir, "gateway.key");
                    csrPath = Path.Combine(tlsDir, "gateway.csr");
                    var certPath = Path.Combine(tlsDir, "gateway.crt");
                    var caPem = ReadCertificatePem(ca, "--ca-file");
                    using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
                    var request = new CertificateRequest(new X500DistinguishedName($"CN={gatewayId}"), key, HashAlgorithmName.SHA256);
                    request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
                    request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], critical: false)); // client authentication
                    ConfigFile.WriteAtomically(keyPath, key.ExportPkcs8PrivateKeyPem(), OwnerOnly);
                    ConfigFile.WriteAtomically(csrPath, request.CreateSigningRequestPem(), Public);
                    ConfigFile.WriteAtomically(caPath, caPem, Public);
                    config.Broker.Tls = new TlsConfig { CaFile = caPath, CertFile = certPath, KeyFile = keyPath };
                    written.Add(keyPath);
                    written.Add(csrPath);
                    written.Add(caPath);
                    break;
                }

            case CredentialMode.Import:
                {
                    var ca = Require(options.CaFile, "the centre's CA certificate", "--ca-file");
                    var certFile = Require(options.CertFile, "the gateway's certificate", "--cert-file");
                    var keyFile = Require(options.KeyFile, "the gateway's private key", "--key-file");
                    var caPem = ReadCertificatePem(ca, "--ca-file");
                    var certPem = ReadCertificatePem(certFile, "--cert-file");
                    var keyPem = ReadFile(keyFile, "--key-file");
                    try
                    {
                        using var pair = X509Certificate2.CreateFromPem(certPem, keyPem);
                        if (!pair.HasPrivateKey)
                        {
                            throw new CryptographicException("no private key");
                        }
                    }
                    catch (Exception ex) when (ex is CryptographicException or ArgumentException)
                    {
                        throw new CliException($"The key in {keyFile} does not belong to the certificate in {certFile} (or is not a PEM private key).", "Give the key file that was made with this certificate's request.");
                    }

                    var caPath = Path.Combine(tlsDir, "centre-ca.pem");
                    var certPath = Path.Combine(tlsDir, "gateway.crt");
                    var keyPath = Path.Combine(tlsDir, "gateway.key");
                    ConfigFile.WriteAtomically(keyPath, keyPem, OwnerOnly);
                    ConfigFile.WriteAtomically(certPath, certPem, Public);
                    ConfigFile.WriteAtomically(caPath, caPem, Public);
                    config.Broker.Tls = new TlsConfig { CaFile = caPath, CertFile = certPath, KeyFile = keyPath };
                    written.Add(keyPath);
                    written.Add(certPath);
                    written.Add(caPath);
                    break;
                }

            case CredentialMode.Password:
                {
                    RefuseClearPassword(brokerHost, options, context);
                    var username = options.Username ?? context.Ask("The MQTT user name", "--username");
                    var password = options.PasswordFile is { } file
                        ? ReadFile(file, "--password-file").Trim()
                        : context.Ask("The MQTT password", "--password-file", secret: true);
                    if (password.Length == 0)
                    {
                        throw new CliException("The password is empty.", "Put the password the centre gave you in the file named by --password-file.");
                    }

                    var passwordPath = Path.Combine(configDir, "secrets", "mqtt-password");
                    ConfigFile.WriteAtomically(passwordPath, password + "\n", OwnerOnly);
                    config.Broker.Username = username;
                    config.Broker.PasswordFile = passwordPath;
                    written.Add(passwordPath);
                    if (options.CaFile is { } ca)
                    {
                        var caPath = Path.Combine(tlsDir, "centre-ca.pem");
                        ConfigFile.WriteAtomically(caPath, ReadCertificatePem(ca, "--ca-file"), Public);
                        config.Broker.Tls = new TlsConfig { CaFile = caPath };
                        written.Add(caPath);
                    }

                    break;
                }
        }

        ConfigFile.Save(configPath, config);
        written.Add(configPath);
        GiveToServiceUser(written);
        if (context.Json)
        {
            context.WriteJson(new JsonObject
            {
                ["ok"] = true,
                ["gatewayId"] = gatewayId,
                ["config"] = configPath,
                ["credentials"] = options.Credentials.ToString().ToLowerInvariant(),
                ["csr"] = csrPath,
                ["files"] = CliContext.ToJsonArray(written),
            });
        }
        else
        {
            context.Console.MarkupLine($"[green]Gateway '{Markup.Escape(gatewayId)}' set up[/] for broker {Markup.Escape(brokerHost)}:{options.BrokerPort}.");
            var table = new Table().AddColumn("Written").AddColumn("Permissions");
            foreach (var path in written)
            {
                var file = path;
                table.AddRow(Markup.Escape(file), OperatingSystem.IsWindows() ? "-" : Convert.ToString((int)File.GetUnixFileMode(file), 8));
            }

            context.Console.Write(table);
            if (csrPath is not null)
            {
                context.Console.MarkupLine($"[yellow]Next:[/] send {Markup.Escape(csrPath)} to the centre; put the certificate it returns at {Markup.Escape(config.Broker.Tls!.CertFile!)}. The private key never leaves this box.");
            }

            context.Console.MarkupLine("[yellow]Then:[/] 'care-gateway sensors add', 'care-gateway profile edit', 'care-gateway selftest'.");
        }

        return Task.FromResult(ExitCodes.Ok);
    }

    /// <summary>
    /// The service runs as the package's user <c>care-gateway</c>: when init runs as root and that user exists, the
    /// files it wrote become that user's (still 0600 for secrets), or the service could not read its own key.
    /// </summary>
    private static void GiveToServiceUser(List<string> files)
    {
        const string user = "care-gateway";
        if (OperatingSystem.IsWindows() || Environment.UserName != "root" || !RunQuietly("id", ["-u", user]))
        {
            return;
        }

        if (!RunQuietly("chown", [$"{user}:{user}", .. files]))
        {
            throw new CliException($"Cannot give the files to the service user '{user}'.", $"Run 'sudo chown {user}:{user} {string.Join(' ', files)}'.", ExitCodes.CheckFailed);
        }
    }

    private static bool RunQuietly(string program, string[] args)
    {
        try
        {
            using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(program, args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false });
            if (process is null)
            {
                return false;
            }

            process.StandardOutput.ReadToEnd();
            process.StandardError.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    private static GatewayConfig? ExistingValidConfig(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            return ConfigLoader.Load(path);
        }
        catch (ConfigException)
        {
            return null; // the package's unprovisioned default, or a broken file: init replaces it
        }
    }

    /// <summary>
    /// A password over plain TCP (no <c>--ca-file</c>, so no TLS) to a broker that is not on this machine can be read on
    /// the way, and with it anyone can send alarms as this home or keep its alarms away: refused unless
    /// <c>--insecure</c>, which warns on standard error and goes on.
    /// </summary>
    private static void RefuseClearPassword(string brokerHost, InitOptions options, CliContext context)
    {
        if (options.CaFile is not null || IsLoopback(brokerHost))
        {
            return;
        }

        var risk = $"the password for the broker at {brokerHost}:{options.BrokerPort} would cross the network in clear (plain TCP, no TLS): anyone on the way can read it, then send alarms as this home or keep its alarms from the centre.";
        if (!options.Insecure)
        {
            throw new CliException(
                $"Not sending a password without TLS: {risk}",
                "Give --ca-file with the centre's CA certificate (TLS, usually --broker-port 8883), or use --credentials generate or import. On a closed test network only, --insecure goes on with a warning.");
        }

        context.Error.WriteLine($"Warning (--insecure): {risk} Use this only on a closed test network.");
    }

    /// <summary>This machine: <c>localhost</c> or a loopback address (127.0.0.0/8, ::1).</summary>
    internal static bool IsLoopback(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
        || (System.Net.IPAddress.TryParse(host.Trim('[', ']'), out var address) && System.Net.IPAddress.IsLoopback(address));

    private static string Require(string? value, string what, string flag) =>
        value ?? throw new CliException($"{what} is needed for these credentials.", $"Give it with {flag}.");

    private static string ReadFile(string path, string flag)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            var why = ex switch
            {
                FileNotFoundException or DirectoryNotFoundException => "there is no such file",
                UnauthorizedAccessException => "permission denied",
                _ => ex.Message,
            };
            throw new CliException($"Cannot read {path} ({why}).", $"Check the path given with {flag}.");
        }
    }

    private static string ReadCertificatePem(string path, string flag)
    {
        var pem = ReadFile(path, flag);
        try
        {
            using var cert = X509Certificate2.CreateFromPem(pem);
        }
        catch (CryptographicException)
        {
            throw new CliException($"{path} does not hold a PEM certificate.", $"Give a PEM file (-----BEGIN CERTIFICATE-----) with {flag}.");
        }

        return pem;
    }
}
