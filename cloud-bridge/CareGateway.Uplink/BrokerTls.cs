using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using MQTTnet;

namespace CareGateway.Uplink;

/// <summary>
/// TLS to the centre's broker: trusts only the configured CA (pinning: the machine's own trust store is not used), checks
/// the broker's name, and presents the gateway's client certificate for mutual TLS.
/// </summary>
internal static class BrokerTls
{
    public static MqttClientTlsOptions Build(TlsOptions tls, string host, Action<string> rejected)
    {
        var ca = LoadCa(tls.CaFile);
        var builder = new MqttClientTlsOptionsBuilder()
            .UseTls(true)
            .WithTargetHost(host)
            .WithSslProtocols(System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13)
            .WithCertificateValidationHandler(e =>
            {
                var problem = Check(e.Certificate, e.SslPolicyErrors, ca);
                if (problem is not null)
                {
                    rejected(problem);
                }

                return problem is null;
            });
        if (tls.CertFile is not null)
        {
            if (tls.KeyFile is null)
            {
                throw new InvalidOperationException($"TLS client certificate '{tls.CertFile}' needs its key: set keyFile as well.");
            }

            builder = builder.WithClientCertificates([LoadClientCertificate(tls.CertFile, tls.KeyFile)]);
        }

        return builder.Build();
    }

    /// <summary>
    /// Accepts the broker's certificate only if it chains to <paramref name="ca"/> and names the host we dialled.
    /// Chain errors from the machine's store are ignored on purpose: the chain is built again against the pinned CA alone.
    /// </summary>
    internal static string? Check(X509Certificate? presented, SslPolicyErrors errors, X509Certificate2 ca)
    {
        if (presented is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            return "the broker presented no certificate";
        }

        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
        {
            return $"the broker's certificate ({presented.Subject}) does not name the host the gateway dialled";
        }

        using var leaf = presented as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(presented.GetRawCertData());
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationFlags = X509VerificationFlags.NoFlag;
        if (!chain.Build(leaf))
        {
            var status = string.Join(", ", chain.ChainStatus.Select(s => s.Status.ToString()).Distinct());
            return $"the broker's certificate (subject '{leaf.Subject}', issuer '{leaf.Issuer}', valid {leaf.NotBefore:yyyy-MM-dd} to {leaf.NotAfter:yyyy-MM-dd}) does not chain to the pinned CA '{ca.Subject}': {status}";
        }

        // The root of the chain must be the pinned CA itself, not merely a certificate with the same name.
        var root = chain.ChainElements[^1].Certificate;
        return root.RawDataMemory.Span.SequenceEqual(ca.RawDataMemory.Span)
            ? null
            : $"the broker's certificate chains to '{root.Subject}', which is not the pinned CA file";
    }

    private static X509Certificate2 LoadCa(string path)
    {
        try
        {
            return X509CertificateLoader.LoadCertificateFromFile(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new InvalidOperationException($"Cannot read the broker CA certificate '{path}': {ex.Message}", ex);
        }
    }

    private static X509Certificate2 LoadClientCertificate(string certFile, string keyFile)
    {
        try
        {
            // PEM keys are ephemeral; SslStream wants a certificate whose key it can use, so round-trip through PKCS#12.
            using var pem = X509Certificate2.CreateFromPemFile(certFile, keyFile);
            return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            // The message names the files, never their content.
            throw new InvalidOperationException($"Cannot load the client certificate '{certFile}' with key '{keyFile}': {ex.Message}", ex);
        }
    }
}
