using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CareGateway.ResponseCentre.Service.Web;
using CareGateway.Tests;

namespace CareGateway.ResponseCentre.Tests;

/// <summary>Issue 19 finding 8: behind the TLS proxy or on Kestrel's HTTPS, cookies are Secure and HSTS is sent; plain HTTP from the network is refused.</summary>
public sealed class TransportTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static HttpRequestMessage Get(string path, string proto, string client = "203.0.113.7")
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("X-Forwarded-Proto", proto);
        request.Headers.Add("X-Forwarded-For", client);
        return request;
    }

    private static IEnumerable<string> Cookies(HttpResponseMessage r) => r.Headers.TryGetValues("Set-Cookie", out var v) ? v : [];

    [Fact]
    public async Task Behind_a_trusted_proxy_on_https_every_cookie_is_secure_and_hsts_is_sent()
    {
        await using var centre = await CentreHost.StartAsync(CentreHost.Settings(_dir.File("centre.db"), brokerPort: null));
        using var http = new HttpClient { BaseAddress = new Uri(centre.BaseUrl) };
        using var answer = await http.SendAsync(Get("/login?lang=en", "https"));
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.StartsWith("max-age=", answer.Headers.GetValues("Strict-Transport-Security").Single(), StringComparison.Ordinal);
        var cookies = Cookies(answer).ToList();
        Assert.Contains(cookies, c => c.StartsWith("centre-csrf=", StringComparison.Ordinal));
        Assert.Contains(cookies, c => c.StartsWith(ConsoleEndpoints.LangCookie + "=", StringComparison.Ordinal));
        Assert.All(cookies, c => Assert.Contains("; secure", c, StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Plain_http_from_the_network_is_refused_with_a_sentence_and_sets_no_cookie()
    {
        await using var centre = await CentreHost.StartAsync(CentreHost.Settings(_dir.File("centre.db"), brokerPort: null));
        using var http = new HttpClient { BaseAddress = new Uri(centre.BaseUrl) };
        using var answer = await http.SendAsync(Get("/login", "http"));
        Assert.Equal(HttpStatusCode.BadRequest, answer.StatusCode);
        Assert.Equal(Transport.PlainHttpRefused, await answer.Content.ReadAsStringAsync());
        Assert.Empty(Cookies(answer));
    }

    [Fact]
    public async Task Forwarded_headers_from_an_address_that_is_not_a_configured_proxy_are_not_believed()
    {
        var settings = CentreHost.Settings(_dir.File("centre.db"), brokerPort: null);
        settings["Centre:Web:TrustedProxies:0"] = "10.9.9.0/24";
        await using var centre = await CentreHost.StartAsync(settings);
        using var http = new HttpClient { BaseAddress = new Uri(centre.BaseUrl) };
        using var answer = await http.SendAsync(Get("/login", "https"));
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode); // still a loopback request over plain HTTP
        Assert.False(answer.Headers.Contains("Strict-Transport-Security"));
        Assert.All(Cookies(answer), c => Assert.DoesNotContain("; secure", c, StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task A_trusted_proxy_entry_that_is_no_address_stops_the_start_with_its_value_named()
    {
        var settings = CentreHost.Settings(_dir.File("centre.db"), brokerPort: null);
        settings["Centre:Web:TrustedProxies:0"] = "proxy.example";
        var e = await Assert.ThrowsAsync<InvalidOperationException>(async () => await CentreHost.StartAsync(settings));
        Assert.StartsWith("Centre:Web:TrustedProxies: 'proxy.example' is not an IP address or network", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task On_kestrels_own_https_with_a_configured_certificate_cookies_are_secure_and_hsts_is_sent()
    {
        var pfx = _dir.File("console.pfx");
        using (var rsa = RSA.Create(2048))
        {
            var request = new CertificateRequest("CN=127.0.0.1", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(san.Build());
            using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
            await File.WriteAllBytesAsync(pfx, cert.Export(X509ContentType.Pfx, "console-secret"));
        }

        var settings = CentreHost.Settings(_dir.File("centre.db"), brokerPort: null);
        settings["Kestrel:Certificates:Default:Path"] = pfx;
        settings["Kestrel:Certificates:Default:Password"] = "console-secret";
        await using var centre = await CentreHost.StartAsync(settings, url: "https://127.0.0.1:0");
        Assert.StartsWith("https://", centre.BaseUrl, StringComparison.Ordinal);
        using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator };
        using var http = new HttpClient(handler) { BaseAddress = new Uri(centre.BaseUrl) };
        using var answer = await http.GetAsync("/login");
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.True(answer.Headers.Contains("Strict-Transport-Security"));
        Assert.All(Cookies(answer), c => Assert.Contains("; secure", c, StringComparison.OrdinalIgnoreCase));
        Assert.NotEmpty(Cookies(answer));
    }
}
