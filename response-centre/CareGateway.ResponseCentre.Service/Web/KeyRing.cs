using System.Security.Cryptography.X509Certificates;
using CareGateway.ResponseCentre.Service.Centre;
using CareGateway.ResponseCentre.Service.Storage;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Data.Sqlite;

namespace CareGateway.ResponseCentre.Service.Web;

/// <summary>
/// Where the keys that sign session cookies and form tokens and seal resident records live: a configured folder of the
/// service's own (0700), not ASP.NET Core's default under <c>$HOME/.aspnet</c>, or the centre's database (shared by
/// every instance on it); encrypted with a configured certificate.
/// </summary>
public sealed class KeyRing
{
    private KeyRing(string folder, bool encrypted)
    {
        Folder = folder;
        Encrypted = encrypted;
    }

    public string Folder { get; }

    public bool Encrypted { get; }

    public static KeyRing Configure(IServiceCollection services, CentreSettings settings)
    {
        var dp = settings.DataProtection;
        var inDatabase = dp.KeyStore.ToLowerInvariant() switch
        {
            "folder" => false,
            "database" => true,
            _ => throw new InvalidOperationException($"Centre:DataProtection:KeyStore: '{dp.KeyStore}' is not known; use folder or database"),
        };
        var builder = services.AddDataProtection().SetApplicationName("care-gateway-response-centre");
        string folder;
        if (inDatabase)
        {
            folder = "the database";
            services.AddSingleton<Microsoft.Extensions.Options.IConfigureOptions<Microsoft.AspNetCore.DataProtection.KeyManagement.KeyManagementOptions>>(sp =>
                new Microsoft.Extensions.Options.ConfigureOptions<Microsoft.AspNetCore.DataProtection.KeyManagement.KeyManagementOptions>(o =>
                    o.XmlRepository = new DatabaseKeyRepository(sp.GetRequiredService<ICentreStore>(), sp.GetRequiredService<TimeProvider>())));
        }
        else
        {
            folder = string.IsNullOrWhiteSpace(dp.KeyRingPath) ? Path.Combine(DataFolderOf(settings.Database), "keys") : dp.KeyRingPath;
            PrivateFiles.CreateFolder(folder);
            builder.PersistKeysToFileSystem(new DirectoryInfo(folder));
        }

        var encrypted = false;
        if (!string.IsNullOrWhiteSpace(dp.CertificatePath))
        {
            X509Certificate2 certificate;
            try
            {
                certificate = X509CertificateLoader.LoadPkcs12FromFile(dp.CertificatePath, dp.CertificatePassword, X509KeyStorageFlags.EphemeralKeySet);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
            {
                throw new InvalidOperationException($"Centre:DataProtection:CertificatePath: '{dp.CertificatePath}' could not be read as a PKCS#12 certificate with its private key ({e.Message}); check the file and Centre:DataProtection:CertificatePassword.", e);
            }

            if (!certificate.HasPrivateKey)
            {
                throw new InvalidOperationException($"Centre:DataProtection:CertificatePath: '{dp.CertificatePath}' holds no private key; the keys could be encrypted but never read back.");
            }

            builder.ProtectKeysWithCertificate(certificate).UnprotectKeysWithAnyCertificate(certificate);
            encrypted = true;
        }

        return new KeyRing(folder, encrypted);
    }

    public void LogAtStart(ILogger log)
    {
        if (Encrypted)
        {
            log.LogInformation("Session keys in {Folder}, encrypted with the configured certificate", Folder);
        }
        else
        {
            log.LogWarning("Session keys in {Folder} are not encrypted at rest (only the folder's mode 0700 protects them): set Centre:DataProtection:CertificatePath", Folder);
        }
    }

    private static string DataFolderOf(DatabaseSettings db)
    {
        if (db.Provider.Equals("sqlite", StringComparison.OrdinalIgnoreCase) && !string.IsNullOrWhiteSpace(db.ConnectionString))
        {
            var file = db.ConnectionString.Contains('=', StringComparison.Ordinal) ? new SqliteConnectionStringBuilder(db.ConnectionString).DataSource : db.ConnectionString;
            if (file is { Length: > 0 } && file != ":memory:" && Path.GetDirectoryName(Path.GetFullPath(file)) is { } dir)
            {
                return dir;
            }
        }

        return CentreApp.DefaultDataFolder;
    }
}
