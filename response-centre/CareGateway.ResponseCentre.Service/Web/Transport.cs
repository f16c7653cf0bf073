using System.Net;
using CareGateway.ResponseCentre.Service.Centre;
using Microsoft.AspNetCore.HttpOverrides;

namespace CareGateway.ResponseCentre.Service.Web;

/// <summary>
/// The console's transport rules. Operators on the network reach it over HTTPS only: Kestrel with a certificate, or a
/// TLS reverse proxy whose forwarded headers are believed only from the configured proxy addresses. Plain HTTP is
/// answered only on loopback (the demo, a technician's laptop, a proxy on the same machine); from anywhere else it is
/// refused with a sentence, so no password and no session cookie ever crosses the network in clear. Every HTTPS
/// answer carries HSTS, and every cookie set on HTTPS is <c>Secure</c>.
/// </summary>
public static class Transport
{
    public const string PlainHttpRefused = "This console accepts plain HTTP only from this machine. Use its https:// address (Kestrel with a certificate, or the TLS reverse proxy in front of it).";

    public static void AddTransport(IServiceCollection services, WebSettings web)
    {
        var networks = Networks(web.TrustedProxies);
        services.Configure<ForwardedHeadersOptions>(o =>
        {
            o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            o.KnownProxies.Clear();
            o.KnownIPNetworks.Clear();
            foreach (var n in networks)
            {
                o.KnownIPNetworks.Add(n);
            }

            // One proxy in front: the address it saw is the client's.
            o.ForwardLimit = 1;
        });
    }

    public static void UseTransport(WebApplication app)
    {
        var hsts = $"max-age={app.Services.GetRequiredService<CentreSettings>().Web.HstsSeconds}";
        app.UseForwardedHeaders();
        app.Use(async (ctx, next) =>
        {
            if (ctx.Request.IsHttps)
            {
                ctx.Response.Headers.StrictTransportSecurity = hsts;
            }
            else if (ctx.Connection.RemoteIpAddress is { } remote && !IPAddress.IsLoopback(remote))
            {
                ctx.Response.StatusCode = StatusCodes.Status400BadRequest;
                ctx.Response.ContentType = "text/plain; charset=utf-8";
                await ctx.Response.WriteAsync(PlainHttpRefused);
                return;
            }

            await next();
        });
    }

    /// <summary>The trusted proxies as networks; loopback when none is configured. A bad entry stops the start with its value named.</summary>
    internal static List<System.Net.IPNetwork> Networks(IReadOnlyList<string> entries)
    {
        if (entries.Count == 0)
        {
            return [System.Net.IPNetwork.Parse("127.0.0.0/8"), System.Net.IPNetwork.Parse("::1/128")];
        }

        var list = new List<System.Net.IPNetwork>();
        foreach (var entry in entries)
        {
            var text = entry.Trim();
            if (System.Net.IPNetwork.TryParse(text, out var network))
            {
                list.Add(network);
            }
            else if (IPAddress.TryParse(text, out var address))
            {
                list.Add(new System.Net.IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128));
            }
            else
            {
                throw new InvalidOperationException($"Centre:Web:TrustedProxies: '{DateRange.Shorten(text)}' is not an IP address or network (write 10.0.0.5 or 10.0.0.0/24).");
            }
        }

        return list;
    }
}
