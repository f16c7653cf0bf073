using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CareGateway.ResponseCentre.Service.Storage;
using CareGateway.Tests;

namespace CareGateway.ResponseCentre.Tests;

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
/// <summary>Issue 19 finding 12: the database, its WAL and the session keys are readable by the service's user only.</summary>
public sealed class PrivateStorageTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static UnixFileMode Mode(string path) => File.GetUnixFileMode(path) & (UnixFileMode)0x1FF;

    [Fact]
    public async Task A_new_data_folder_is_0700_and_the_database_its_wal_and_the_key_ring_are_private()
    {
        var folder = _dir.File("data");
        var db = Path.Combine(folder, "centre.db");
        await using (var centre = await CentreHost.StartAsync(CentreHost.Settings(db, brokerPort: null)))
        {
            await centre.Store.AddAlarmAsync(StoreContractTests.Alarm("019ab3c4-5d60-7e21-9f3a-2b4c6d8e0f21"), default);
            using var http = new HttpClient { BaseAddress = new Uri(centre.BaseUrl) };
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/login")).StatusCode); // the form token makes the first key

            Assert.Equal(PrivateFiles.FolderMode, Mode(folder));
            Assert.Equal(PrivateFiles.PrivateFileMode, Mode(db));
            // Hold a connection open so that the WAL and shared-memory files exist (SQLite removes them with the last one).
            using var open = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={db};Pooling=false");
            open.Open();
            using (var read = open.CreateCommand())
            {
                read.CommandText = "SELECT count(*) FROM sqlite_master";
                read.ExecuteScalar();
            }

            Assert.True(File.Exists(db + "-wal"), "the WAL exists while a connection is open");
            Assert.Equal(PrivateFiles.PrivateFileMode, Mode(db + "-wal"));
            Assert.Equal(PrivateFiles.PrivateFileMode, Mode(db + "-shm"));
            var keys = Path.Combine(folder, "keys");
            Assert.Equal(PrivateFiles.FolderMode, Mode(keys));
            Assert.NotEmpty(Directory.GetFiles(keys, "key-*.xml"));
        }
    }

    [Fact]
    public async Task A_database_an_older_version_left_readable_to_everyone_is_tightened_at_start()
    {
        var db = _dir.File("centre.db");
        _ = SqliteCentreStore.ForFile(db); // creates the file
        File.SetUnixFileMode(db, (UnixFileMode)0x1A4); // 0644
        await using var centre = await CentreHost.StartAsync(CentreHost.Settings(db, brokerPort: null));
        Assert.Equal(PrivateFiles.PrivateFileMode, Mode(db));
    }

    [Fact]
    public async Task With_a_certificate_the_keys_are_encrypted_at_rest_and_sessions_survive_a_restart()
    {
        var pfx = _dir.File("keys.pfx");
        using (var rsa = RSA.Create(2048))
        {
            var request = new CertificateRequest("CN=centre-keys", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
            await File.WriteAllBytesAsync(pfx, cert.Export(X509ContentType.Pfx, "pfx-secret"));
        }

        var keys = _dir.File("ring");
        var settings = CentreHost.Settings(_dir.File("centre.db"), brokerPort: null);
        settings["Centre:DataProtection:KeyRingPath"] = keys;
        settings["Centre:DataProtection:CertificatePath"] = pfx;
        settings["Centre:DataProtection:CertificatePassword"] = "pfx-secret";

        var cookies = new CookieContainer();
        string baseUrl;
        await using (var centre = await CentreHost.StartAsync(settings))
        {
            await centre.AddUserAsync("kari", Roles.Operator, "correct horse battery");
            baseUrl = centre.BaseUrl;
            using var handler = new HttpClientHandler { CookieContainer = cookies, AllowAutoRedirect = false };
            using var http = new HttpClient(handler) { BaseAddress = new Uri(baseUrl) };
            var login = await http.GetStringAsync("/login");
            var token = System.Text.RegularExpressions.Regex.Match(login, "name=\"csrf\" value=\"([^\"]+)\"").Groups[1].Value;
            var answer = await http.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["csrf"] = WebUtility.HtmlDecode(token), ["username"] = "kari", ["password"] = "correct horse battery",
            }));
            Assert.Equal(HttpStatusCode.Redirect, answer.StatusCode);
        }

        var xml = await File.ReadAllTextAsync(Assert.Single(Directory.GetFiles(keys, "key-*.xml")));
        Assert.Contains("EncryptedData", xml, StringComparison.Ordinal);
        Assert.DoesNotContain("<value>", xml, StringComparison.Ordinal); // the plain master key is not in the file

        // A new process with the same settings reads the encrypted key back: the operator's cookie still works.
        await using (var again = await CentreHost.StartAsync(settings))
        {
            foreach (Cookie c in cookies.GetCookies(new Uri(baseUrl)))
            {
                cookies.Add(new Uri(again.BaseUrl), new Cookie(c.Name, c.Value, "/"));
            }

            using var handler = new HttpClientHandler { CookieContainer = cookies, AllowAutoRedirect = false };
            using var http = new HttpClient(handler) { BaseAddress = new Uri(again.BaseUrl) };
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/")).StatusCode);
        }
    }

    [Fact]
    public async Task A_certificate_that_cannot_be_read_stops_the_start_with_the_setting_named()
    {
        await File.WriteAllTextAsync(_dir.File("broken.pfx"), "not a certificate");
        var settings = CentreHost.Settings(_dir.File("centre.db"), brokerPort: null);
        settings["Centre:DataProtection:CertificatePath"] = _dir.File("broken.pfx");
        var e = await Assert.ThrowsAsync<InvalidOperationException>(async () => await CentreHost.StartAsync(settings));
        Assert.StartsWith("Centre:DataProtection:CertificatePath:", e.Message, StringComparison.Ordinal);
    }
}
