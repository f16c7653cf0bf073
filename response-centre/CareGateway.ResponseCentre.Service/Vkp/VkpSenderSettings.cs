using System.Globalization;

namespace CareGateway.ResponseCentre.Service.Vkp;

/// <summary>
/// The VKP sender (<c>Centre:VkpSender</c>): OAuth 2.0 client credentials with <c>private_key_jwt</c> at a HelseID-style
/// token endpoint, then each closed care alarm's bundle to the FHIR endpoint. docs/response-centre.md, "Sending to VKP".
/// </summary>
public sealed class VkpSenderSettings
{
    /// <summary>Off by default: a centre sends nothing until the municipality has a client registration and an endpoint.</summary>
    public bool Enabled { get; set; }

    /// <summary>The token endpoint (HelseID: <c>https://helseid-sts.nhn.no/connect/token</c>); https except on loopback.</summary>
    public string? TokenEndpoint { get; set; }

    /// <summary>The <c>aud</c> of the client assertion; default the token endpoint (set it when the authority asks for its issuer).</summary>
    public string? Audience { get; set; }

    /// <summary>The client id of the centre's registration (<c>iss</c> and <c>sub</c> of the client assertion).</summary>
    public string? ClientId { get; set; }

    /// <summary>The scope(s) asked for, space-separated, as the API's registration names them.</summary>
    public string? Scope { get; set; }

    /// <summary>The centre's private key: a PEM (PKCS#8, RSA or EC) or a JWK file; readable by the service's user only (0600). Never logged.</summary>
    public string? PrivateKeyPath { get; set; }

    /// <summary><c>RS256</c>, <c>PS256</c> or <c>ES256</c>; default by the key (RSA: RS256, EC P-256: ES256) or the JWK's <c>alg</c>.</summary>
    public string? Algorithm { get; set; }

    /// <summary>The FHIR base URL; the transaction bundle is POSTed to it (https except on loopback).</summary>
    public string? FhirBaseUrl { get; set; }

    /// <summary>First wait after a failure (seconds); it doubles with each failure in a row, with jitter.</summary>
    public int RetrySeconds { get; set; } = 30;

    /// <summary>The cap of the back-off (seconds).</summary>
    public int RetryMaxSeconds { get; set; } = 1800;

    /// <summary>Lifetime of one client assertion (seconds; HelseID accepts at most 120).</summary>
    public int AssertionSeconds { get; set; } = 60;

    /// <summary>Time for one token or FHIR request (seconds).</summary>
    public int RequestTimeoutSeconds { get; set; } = 30;

    /// <summary>Only alarms closed at or after this time (ISO 8601) are sent; default all still in the database.</summary>
    public DateTimeOffset? SendClosedSince { get; set; }

    /// <summary>With nothing to send the sender sleeps until an alarm closes, and looks again after this many minutes at the latest (alarms closed by another instance).</summary>
    public int SweepMinutes { get; set; } = 60;

    /// <summary>
    /// What is wrong with these settings, as sentences naming the key (empty when they are fine, or the sender is off).
    /// The key file is checked to exist and to be private; its contents are read by <see cref="ClientAssertion.Load"/>.
    /// </summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (!Enabled)
        {
            return problems;
        }

        const string P = "Centre:VkpSender:";
        CheckUrl(problems, P + "TokenEndpoint", TokenEndpoint, required: true);
        CheckUrl(problems, P + "Audience", Audience, required: false);
        CheckUrl(problems, P + "FhirBaseUrl", FhirBaseUrl, required: true);
        if (string.IsNullOrWhiteSpace(ClientId))
        {
            problems.Add(P + "ClientId: the client id of the centre's registration at the token service is missing");
        }

        if (string.IsNullOrWhiteSpace(Scope))
        {
            problems.Add(P + "Scope: the scope to ask for is missing (the FHIR API's scope in the client registration)");
        }

        if (string.IsNullOrWhiteSpace(PrivateKeyPath))
        {
            problems.Add(P + "PrivateKeyPath: the file of the centre's private key (PEM or JWK) is missing");
        }
        else if (!File.Exists(PrivateKeyPath))
        {
            problems.Add(P + $"PrivateKeyPath: there is no file at {PrivateKeyPath}");
        }
        else if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(PrivateKeyPath) & (UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite)) != 0)
        {
            problems.Add(P + $"PrivateKeyPath: {PrivateKeyPath} can be read by other users; make it the service user's own (chmod 600)");
        }

        if (Algorithm is { } alg && !ClientAssertion.Algorithms.Contains(alg))
        {
            problems.Add(P + $"Algorithm: '{alg}' is not one of {string.Join(", ", ClientAssertion.Algorithms)}");
        }

        if (RetrySeconds < 1)
        {
            problems.Add(P + "RetrySeconds: must be at least 1");
        }

        if (RetryMaxSeconds < RetrySeconds)
        {
            problems.Add(P + string.Create(CultureInfo.InvariantCulture, $"RetryMaxSeconds: must not be below RetrySeconds ({RetrySeconds})"));
        }

        if (AssertionSeconds is < 10 or > 300)
        {
            problems.Add(P + "AssertionSeconds: must be between 10 and 300 (a client assertion is short-lived)");
        }

        if (RequestTimeoutSeconds is < 1 or > 600)
        {
            problems.Add(P + "RequestTimeoutSeconds: must be between 1 and 600");
        }

        if (SweepMinutes < 1)
        {
            problems.Add(P + "SweepMinutes: must be at least 1");
        }

        return problems;
    }

    private static void CheckUrl(List<string> problems, string key, string? value, bool required)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            if (required)
            {
                problems.Add(key + ": the address is missing");
            }

            return;
        }

        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
        {
            problems.Add(key + $": '{value}' is not an http(s) address");
        }
        else if (uri.Scheme == Uri.UriSchemeHttp && !uri.IsLoopback)
        {
            problems.Add(key + $": '{value}' must use https (plain http only to this machine, for tests)");
        }
    }
}
