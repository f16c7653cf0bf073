using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CareGateway.Cli;
using CareGateway.Hardware;

namespace CareGateway.Tests.Cli;

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // file modes are POSIX: the gateway runs on Linux
public class InitCommandTests
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    [Fact]
    public async Task Generate_writes_an_owner_only_key_a_csr_for_it_and_a_valid_config_without_printing_the_key()
    {
        using var dir = new TempDir();
        var (ca, _) = CliTestKit.SelfSigned(dir, "centre-ca");
        var configPath = Path.Combine(dir.Path, "etc", "gateway.json");
        var options = new InitOptions { GatewayId = "gw-0042", BrokerHost = "centre.example", CaFile = ca, DataDirectory = dir.File("data"), Board = BoardModel.RaspberryPi5 };

        var (code, output) = await CliTestKit.RunAsync(configPath, (c, p) => InitCommand.RunAsync(options, p, c));

        Assert.Equal(ExitCodes.Ok, code);
        var config = ConfigLoader.Load(configPath);
        Assert.Equal("gw-0042", config.GatewayId);
        Assert.Equal("centre.example", config.Broker.Host);
        Assert.Equal(BoardModel.RaspberryPi5, config.Board.Model);
        var tls = config.Broker.Tls!;
        Assert.Equal(OwnerOnly, File.GetUnixFileMode(tls.KeyFile!));
        var keyPem = await File.ReadAllTextAsync(tls.KeyFile!);
        Assert.DoesNotContain(keyPem.Split('\n')[1], output, StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE KEY", output, StringComparison.Ordinal);

        var csr = CertificateRequest.LoadSigningRequestPem(await File.ReadAllTextAsync(Path.Combine(dir.Path, "etc", "tls", "gateway.csr")), HashAlgorithmName.SHA256);
        Assert.Equal("CN=gw-0042", csr.SubjectName.Name);
        using var key = ECDsa.Create();
        key.ImportFromPem(keyPem);
        Assert.Equal(key.ExportSubjectPublicKeyInfo(), csr.PublicKey.ExportSubjectPublicKeyInfo());
        Assert.Contains("gateway.csr", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Import_copies_the_certificate_files_and_refuses_a_key_that_is_not_the_certificates()
    {
        using var dir = new TempDir();
        var (ca, _) = CliTestKit.SelfSigned(dir, "centre-ca");
        var (cert, key) = CliTestKit.SelfSigned(dir, "gw");
        var (_, otherKey) = CliTestKit.SelfSigned(dir, "other");
        var configPath = dir.File("gateway.json");
        var wrong = new InitOptions { GatewayId = "gw-1", BrokerHost = "centre", Credentials = CredentialMode.Import, CaFile = ca, CertFile = cert, KeyFile = otherKey, DataDirectory = dir.File("data") };

        var (refused, why) = await CliTestKit.RunAsync(configPath, (c, p) => InitCommand.RunAsync(wrong, p, c));

        Assert.Equal(ExitCodes.BadInput, refused);
        Assert.Contains("does not belong to the certificate", why, StringComparison.Ordinal);
        Assert.False(File.Exists(configPath));

        var (code, _) = await CliTestKit.RunAsync(configPath, (c, p) => InitCommand.RunAsync(wrong with { KeyFile = key }, p, c));

        Assert.Equal(ExitCodes.Ok, code);
        var tls = ConfigLoader.Load(configPath).Broker.Tls!;
        Assert.Equal(await File.ReadAllTextAsync(key), await File.ReadAllTextAsync(tls.KeyFile!));
        Assert.Equal(OwnerOnly, File.GetUnixFileMode(tls.KeyFile!));
        using var pair = X509Certificate2.CreateFromPemFile(tls.CertFile!, tls.KeyFile);
        Assert.True(pair.HasPrivateKey);
    }

    [Fact]
    public async Task A_password_is_stored_owner_only_and_appears_in_neither_the_output_nor_the_config()
    {
        using var dir = new TempDir();
        var source = dir.File("given-password");
        await File.WriteAllTextAsync(source, "s3cret-Pa55word\n");
        var configPath = dir.File("gateway.json");
        var (ca, _) = CliTestKit.SelfSigned(dir, "centre-ca");
        var options = new InitOptions { GatewayId = "gw-1", BrokerHost = "centre", Credentials = CredentialMode.Password, Username = "gw-1", PasswordFile = source, CaFile = ca, DataDirectory = dir.File("data") };

        var (code, output) = await CliTestKit.RunAsync(configPath, (c, p) => InitCommand.RunAsync(options, p, c), json: true);

        Assert.Equal(ExitCodes.Ok, code);
        var result = CliTestKit.ParseJson(output);
        Assert.True(result.GetProperty("ok").GetBoolean());
        Assert.DoesNotContain("s3cret", output, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", await File.ReadAllTextAsync(configPath), StringComparison.Ordinal);
        var config = ConfigLoader.Load(configPath);
        Assert.Equal("s3cret-Pa55word", (await File.ReadAllTextAsync(config.Broker.PasswordFile!)).Trim());
        Assert.Equal(OwnerOnly, File.GetUnixFileMode(config.Broker.PasswordFile!));
    }

    [Fact]
    public async Task A_valid_configuration_is_not_replaced_without_force_and_a_missing_value_names_its_flag()
    {
        using var dir = new TempDir();
        var configPath = CliTestKit.WriteConfig(dir);
        var before = await File.ReadAllTextAsync(configPath);
        var (ca, _) = CliTestKit.SelfSigned(dir, "centre-ca");

        var (code, output) = await CliTestKit.RunAsync(configPath, (c, p) => InitCommand.RunAsync(new InitOptions { GatewayId = "gw-2", BrokerHost = "x", CaFile = ca }, p, c), json: true);

        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("--force", CliTestKit.ParseJson(output).GetProperty("hint").GetString(), StringComparison.Ordinal);
        Assert.Equal(before, await File.ReadAllTextAsync(configPath));

        var (missing, said) = await CliTestKit.RunAsync(dir.File("new.json"), (c, p) => InitCommand.RunAsync(new InitOptions { BrokerHost = "x", CaFile = ca }, p, c));

        Assert.Equal(ExitCodes.BadInput, missing);
        Assert.Contains("--gateway-id", said, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Force_keeps_the_sensors_and_replaces_the_identity()
    {
        using var dir = new TempDir();
        var configPath = CliTestKit.WriteConfig(dir, """[{ "id": "door-front", "kind": "door", "room": "hall", "gpio": { "headerPin": 11 } }]""");
        var (ca, _) = CliTestKit.SelfSigned(dir, "centre-ca");

        var (code, _) = await CliTestKit.RunAsync(configPath, (c, p) => InitCommand.RunAsync(new InitOptions { GatewayId = "gw-new", BrokerHost = "centre", CaFile = ca, Force = true, DataDirectory = dir.File("data") }, p, c));

        Assert.Equal(ExitCodes.Ok, code);
        var config = ConfigLoader.Load(configPath);
        Assert.Equal("gw-new", config.GatewayId);
        Assert.Equal("door-front", Assert.Single(config.Sensors).Id);
    }
}
