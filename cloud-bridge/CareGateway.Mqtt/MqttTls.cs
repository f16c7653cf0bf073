using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using MQTTnet;

namespace CareGateway.Mqtt;

/// <summary>
/// TLS for every MQTT connection of the product: with a CA file, only the CAs in it are trusted (pinning: the
/// machine's trust store is not used) and the broker must name the host dialled; without one, the machine's trust store
/// decides (a public service). The client certificate for mutual TLS is loaded from PEM files.
/// </summary>
public static class MqttTls
{
    /// <summary>MQTTnet TLS options; <paramref name="rejected"/> hears why a broker's certificate was refused.</summary>
    public static MqttClientTlsOptions Build(MqttTlsOptions tls, string host, Action<string> rejected)
    {
        ArgumentNullException.ThrowIfNull(tls);
        ArgumentNullException.ThrowIfNull(rejected);
        var builder = new MqttClientTlsOptionsBuilder()
            .UseTls(true)
            .WithTargetHost(tls.TargetHost ?? host)
            .WithSslProtocols(System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13);
        if (tls.CaFile is { } caFile)
        {
            var cas = LoadCas(caFile);
            builder = builder.WithCertificateValidationHandler(e =>
            {
                var problem = Check(e.Certificate, e.SslPolicyErrors, cas);
                if (problem is not null)
                {
                    rejected(problem);
                }

                return problem is null;
            });
        }

        if (tls.CertFile is not null || tls.KeyFile is not null)
        {
            if (tls.CertFile is null || tls.KeyFile is null)
            {
                throw new InvalidOperationException($"TLS client certificate '{tls.CertFile ?? tls.KeyFile}' needs both the certificate and its key: set certFile and keyFile.");
            }

            builder = builder.WithClientCertificates([LoadClientCertificate(tls.CertFile, tls.KeyFile)]);
        }

        return builder.Build();
    }

    /// <summary>
    /// Accepts the broker's certificate only if it chains to one of <paramref name="cas"/> and names the host we dialled.
    /// Chain errors from the machine's store are ignored on purpose: the chain is built again against the pinned CAs alone.
    /// </summary>
    internal static string? Check(X509Certificate? presented, SslPolicyErrors errors, X509Certificate2Collection cas)
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
        chain.ChainPolicy.CustomTrustStore.AddRange(cas);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationFlags = X509VerificationFlags.NoFlag;
        var pinned = string.Join("', '", cas.Select(c => c.Subject));
        if (!chain.Build(leaf))
        {
            var status = string.Join(", ", chain.ChainStatus.Select(s => s.Status.ToString()).Distinct());
            return $"the broker's certificate (subject '{leaf.Subject}', issuer '{leaf.Issuer}', valid {leaf.NotBefore:yyyy-MM-dd} to {leaf.NotAfter:yyyy-MM-dd}) does not chain to the pinned CA '{pinned}': {status}";
        }

        // The root of the chain must be a pinned CA itself, not merely a certificate with the same name.
        var root = chain.ChainElements[^1].Certificate;
        return cas.Any(ca => root.RawDataMemory.Span.SequenceEqual(ca.RawDataMemory.Span))
            ? null
            : $"the broker's certificate chains to '{root.Subject}', which is not the pinned CA file";
    }

    private static X509Certificate2Collection LoadCas(string path)
    {
        try
        {
            var cas = new X509Certificate2Collection();
            cas.ImportFromPemFile(path);
            if (cas.Count == 0)
            {
                cas.Add(X509CertificateLoader.LoadCertificateFromFile(path)); // DER
            }

            return cas;
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
