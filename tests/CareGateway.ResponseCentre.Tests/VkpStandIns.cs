using System.Collections.Concurrent;
using System.Security.Claims;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace CareGateway.ResponseCentre.Tests;

/// <summary>What the token server saw of one token request.</summary>
public sealed record TokenRequestSeen(string? ClientId, string? ClientAssertionType, string? ClientAssertion, string? Scope);

/// <summary>
/// A HelseID stand-in on a free loopback port: a real OpenIddict server with the client credentials grant, where the
/// one client authenticates with <c>private_key_jwt</c> against the public JWK it is registered with.
/// <para>
/// Degraded mode (no OpenIddict core, no database): OpenIddict then leaves the client registration to the host, so two
/// small handlers stand in for the application store: one hands the registered JWK to the client assertion's
/// validation (which OpenIddict still does in full: signature, <c>iss</c>/<c>sub</c>, <c>aud</c> = the token endpoint,
/// <c>exp</c>), the other refuses an unknown client id or a request without an assertion. An in-memory store would
/// mean implementing OpenIddict's application store interface for one client; HelseID's own store is not what is under
/// test. Jti replay is not tracked in degraded mode; the tests check the jti's uniqueness themselves.
/// </para>
/// </summary>
public sealed class TokenServerStandIn : IAsyncDisposable
{
    public const string ClientId = "centre-test-client";
    public const string Scope = "nhn:vkp/api";

    private readonly WebApplication _app;

    private TokenServerStandIn(WebApplication app, string baseUrl)
    {
        _app = app;
        TokenEndpoint = baseUrl.TrimEnd('/') + "/connect/token";
        Issuer = baseUrl.TrimEnd('/') + "/";
    }

    /// <summary>
    /// The server's issuer. OpenIddict 7 follows draft-ietf-oauth-rfc7523bis: a client assertion's <c>aud</c> must be
    /// the issuer (the token endpoint is no longer accepted), so the tests set <c>Centre:VkpSender:Audience</c> to it.
    /// </summary>
    public string Issuer { get; }

    public string TokenEndpoint { get; }

    public ConcurrentQueue<TokenRequestSeen> Requests { get; } = new();

    /// <summary>The access tokens issued, in order.</summary>
    public ConcurrentQueue<string> Issued { get; } = new();

    /// <summary>The OAuth errors answered, in order.</summary>
    public ConcurrentQueue<string> Refusals { get; } = new();

    /// <param name="registeredJwk">The public JWK the client is registered with (JSON).</param>
    public static async Task<TokenServerStandIn> StartAsync(string registeredJwk, TimeProvider time)
    {
        TokenServerStandIn? self = null;
        var key = new JsonWebKey(registeredJwk);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddOpenIddict().AddServer(o =>
        {
            o.SetTokenEndpointUris("connect/token");
            o.AllowClientCredentialsFlow();
            o.RegisterScopes(Scope);
            o.AddEphemeralEncryptionKey().AddEphemeralSigningKey().DisableAccessTokenEncryption();
            o.EnableDegradedMode();
            o.Configure(options => options.TimeProvider = time);
            o.UseAspNetCore().DisableTransportSecurityRequirement();

            // The registered public key validates the client assertion (the application store's JSON Web Key Set).
            o.AddEventHandler<ValidateTokenContext>(b => b.UseInlineHandler(ctx =>
            {
                if (ctx.ValidTokenTypes.Contains(TokenTypeIdentifiers.Private.ClientAssertion))
                {
                    ctx.TokenValidationParameters.IssuerSigningKeys = [key];
                }

                return default;
            }).SetOrder(OpenIddictServerHandlers.Protection.ResolveTokenValidationParameters.Descriptor.Order + 1).SetType(OpenIddictServerHandlerType.Custom));

            o.AddEventHandler<ValidateTokenRequestContext>(b => b.UseInlineHandler(ctx =>
            {
                self!.Requests.Enqueue(new TokenRequestSeen(ctx.Request.ClientId, ctx.Request.ClientAssertionType, ctx.Request.ClientAssertion, ctx.Request.Scope));
                if (!string.Equals(ctx.ClientId, ClientId, StringComparison.Ordinal))
                {
                    ctx.Reject(Errors.InvalidClient, "unknown client");
                }
                else if (string.IsNullOrEmpty(ctx.Request.ClientAssertion))
                {
                    ctx.Reject(Errors.InvalidClient, "this client authenticates with private_key_jwt only");
                }

                return default;
            }));

            o.AddEventHandler<HandleTokenRequestContext>(b => b.UseInlineHandler(ctx =>
            {
                var identity = new ClaimsIdentity(TokenValidationParameters.DefaultAuthenticationType, Claims.Name, Claims.Role);
                identity.SetClaim(Claims.Subject, ctx.ClientId);
                identity.SetScopes(ctx.Request.GetScopes());
                identity.SetDestinations(_ => [Destinations.AccessToken]);
                ctx.SignIn(new ClaimsPrincipal(identity));
                return default;
            }));

            o.AddEventHandler<ApplyTokenResponseContext>(b => b.UseInlineHandler(ctx =>
            {
                if (ctx.Response.AccessToken is { } token)
                {
                    self!.Issued.Enqueue(token);
                }

                if (ctx.Response.Error is { } error)
                {
                    self!.Refusals.Enqueue(error);
                }

                return default;
            }));
        });
        var app = builder.Build();
        await app.StartAsync();
        self = new TokenServerStandIn(app, app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return self;
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}

/// <summary>What the FHIR stand-in received in one request.</summary>
public sealed record FhirRequestSeen(string Path, string? Authorization, string? ContentType, string Body, int AnsweredWith);

/// <summary>
/// The municipality's FHIR endpoint stand-in on a free loopback port: records each request, answers a planned status
/// (then 200 with a transaction-response), and refuses a bearer token the token server did not issue.
/// </summary>
public sealed class FhirEndpointStandIn : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FhirEndpointStandIn(WebApplication app, string baseUrl)
    {
        _app = app;
        BaseUrl = baseUrl.TrimEnd('/') + "/fhir";
    }

    public string BaseUrl { get; }

    public ConcurrentQueue<FhirRequestSeen> Received { get; } = new();

    /// <summary>Statuses to answer, first to last, before answering 200.</summary>
    public ConcurrentQueue<int> Planned { get; } = new();

    public static async Task<FhirEndpointStandIn> StartAsync(Func<string, bool> tokenIssued)
    {
        FhirEndpointStandIn? self = null;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.MapPost("/fhir", async (HttpContext ctx) =>
        {
            using var reader = new StreamReader(ctx.Request.Body);
            var body = await reader.ReadToEndAsync(ctx.RequestAborted);
            var auth = ctx.Request.Headers.Authorization.ToString();
            var status = !auth.StartsWith("Bearer ", StringComparison.Ordinal) || !tokenIssued(auth["Bearer ".Length..]) ? 401
                : self!.Planned.TryDequeue(out var planned) ? planned : 200;
            self!.Received.Enqueue(new FhirRequestSeen(ctx.Request.Path, auth, ctx.Request.ContentType, body, status));
            return status == 200
                ? Results.Text("""{"resourceType":"Bundle","type":"transaction-response"}""", "application/fhir+json", statusCode: 200)
                : Results.Text("""{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"transient"}]}""", "application/fhir+json", statusCode: status);
        });
        await app.StartAsync();
        self = new FhirEndpointStandIn(app, app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return self;
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
