using System.Security.Cryptography;
using System.Text.Json;
using System.Threading.Channels;
using CareGateway.Protocol;
using CareGateway.ResponseCentre.Service.Centre;
using CareGateway.ResponseCentre.Service.Fhir;
using CareGateway.ResponseCentre.Service.Storage;
using CareGateway.ResponseCentre.Service.Vkp;
using CareGateway.Tests;
using Hl7.Fhir.Model;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace CareGateway.ResponseCentre.Tests;

/// <summary>
/// Issue 18: the VKP sender against in-process stand-ins on loopback (<see cref="TokenServerStandIn"/>, a real OpenIddict
/// server; <see cref="FhirEndpointStandIn"/>). Time is a <see cref="FakeTimeProvider"/> shared by the sender and the
/// token server; the tests wait on signals (the sender's pass reports, which come once its sleep has begun), never on
/// the wall clock, which only bounds a wait that would otherwise hang.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "disposed in IAsyncLifetime.DisposeAsync, which xunit calls")]
public abstract class VkpSenderTests : IAsyncLifetime
{
    // Bounds only (a wait that would otherwise hang): generous, since a busy 2-core machine running the Firely validator
    // beside these tests can take long over the first OpenIddict request.
    private static readonly TimeSpan Within = TimeSpan.FromMinutes(5);
    private static readonly CentreUser Kari = new() { UserName = "kari", OperatorId = "operator-117", PasswordHash = "", Role = Roles.Operator };

    private readonly TempDir _dir = new();
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 24, 1, 19, 0, TimeSpan.Zero));
    private readonly RSA _key = RSA.Create(2048);
    private readonly List<IAsyncDisposable> _owned = [];
    private readonly LogCapture _log = new();
    private ICentreStore _store = null!;
    private CentreEvents _events = null!;
    private CentreCore _core = null!;

    protected abstract Task<ICentreStore> NewStoreAsync();

    public async System.Threading.Tasks.Task InitializeAsync()
    {
        _store = await NewStoreAsync();
        _events = new CentreEvents();
        _core = new CentreCore(_store, new RecordingAckSender(), _events, _clock, new CentreSettings { CentreId = "centre-test" }, Microsoft.Extensions.Logging.Abstractions.NullLogger<CentreCore>.Instance);
    }

    public virtual async System.Threading.Tasks.Task DisposeAsync()
    {
        foreach (var d in Enumerable.Reverse(_owned))
        {
            await d.DisposeAsync();
        }

        await _core.DisposeAsync();
        _key.Dispose();
        _log.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    /// <summary>The centre's private key as a PKCS#8 PEM file, 0600.</summary>
    private string KeyFile(RSA key, string name = "centre-key.pem")
    {
        var path = _dir.File(name);
        File.WriteAllText(path, key.ExportPkcs8PrivateKeyPem());
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        return path;
    }

    /// <summary>The public JWK of a key file, as the client registration holds it.</summary>
    private static string PublicJwk(string keyFile)
    {
        using var assertion = ClientAssertion.Load(keyFile, null);
        return assertion.PublicJwk().ToJsonString();
    }

    private sealed record Rig(TokenServerStandIn Tokens, FhirEndpointStandIn Fhir, VkpSender Sender, Channel<VkpPass> Passes, CentreSettings Settings);

    /// <summary>Starts both stand-ins and a sender; <paramref name="registeredKey"/> is the key the token server knows (default: the centre's).</summary>
    private async Task<Rig> StartAsync(RSA? registeredKey = null)
    {
        var keyFile = KeyFile(_key);
        var tokens = await TokenServerStandIn.StartAsync(PublicJwk(registeredKey is null ? keyFile : KeyFile(registeredKey, "registered.pem")), _clock);
        _owned.Add(tokens);
        var fhir = await FhirEndpointStandIn.StartAsync(t => tokens.Issued.Contains(t));
        _owned.Add(fhir);
        var settings = new CentreSettings
        {
            CentreId = "centre-test",
            VkpSender = new VkpSenderSettings
            {
                Enabled = true,
                TokenEndpoint = tokens.TokenEndpoint,
                Audience = tokens.Issuer,
                ClientId = TokenServerStandIn.ClientId,
                Scope = TokenServerStandIn.Scope,
                PrivateKeyPath = keyFile,
                FhirBaseUrl = fhir.BaseUrl,
                RetrySeconds = 2,
                RetryMaxSeconds = 8,
                RequestTimeoutSeconds = 240, // wall clock (HttpClient): a bound, not a wait
            },
        };
        Assert.Empty(settings.VkpSender.Problems());
        return await StartSenderAsync(tokens, fhir, settings);
    }

    private async Task<Rig> StartSenderAsync(TokenServerStandIn tokens, FhirEndpointStandIn fhir, CentreSettings settings)
    {
        var passes = Channel.CreateUnbounded<VkpPass>();
        var loggers = LoggerFactory.Create(b => b.AddProvider(_log));
        var sender = new VkpSender(_store, _events, _clock, settings, loggers.CreateLogger<VkpSender>()) { PassObserved = p => passes.Writer.TryWrite(p) };
        await sender.StartAsync(default);
        _owned.Add(new Stopper(sender, loggers));
        var rig = new Rig(tokens, fhir, sender, passes, settings);
        var first = await NextPassAsync(rig);
        Assert.Equal(0, first.Failed);
        return rig;
    }

    private sealed class Stopper(VkpSender sender, ILoggerFactory loggers) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await sender.StopAsync(default);
            sender.Dispose();
            loggers.Dispose();
        }
    }

    private static async Task<VkpPass> NextPassAsync(Rig rig, Func<VkpPass, bool>? match = null)
    {
        while (true)
        {
            var pass = await rig.Passes.Reader.ReadAsync().AsTask().WaitAsync(Within);
            if (match is null || match(pass))
            {
                return pass;
            }
        }
    }

    /// <summary>An alarm arrives and an operator closes it (which wakes the sender).</summary>
    private async Task<AlarmKey> CloseAsync(string id, string? note = "Ringte beboer; alt i orden.")
    {
        var alarm = StoreContractTests.Alarm(id) with { ReceivedAt = _clock.GetUtcNow(), RaisedAt = _clock.GetUtcNow().AddSeconds(-1) };
        Assert.True(await _store.AddAlarmAsync(alarm, default));
        Assert.Equal(OperatorResult.Done, await _core.CloseAsync(alarm.Key, Kari, note, CloseOutcome.Handled, default));
        return alarm.Key;
    }

    [Fact]
    public async System.Threading.Tasks.Task Vkp_a_closed_alarm_arrives_as_a_valid_vkp_transaction_with_a_bearer_token_got_by_a_private_key_jwt_assertion_and_the_token_is_reused()
    {
        var rig = await StartAsync();
        Assert.Empty(rig.Fhir.Received); // idle: nothing closed, nothing sent

        var first = await CloseAsync("019ab3c4-5d60-7e21-9f3a-2b4c6d8e0001");
        var pass = await NextPassAsync(rig, p => p.Sent > 0 || p.Failed > 0);
        Assert.True(pass.Sent == 1, pass.Error);

        // The token request: client credentials with a jwt-bearer client assertion that verifies with the centre's public key.
        var request = Assert.Single(rig.Tokens.Requests);
        Assert.Equal("urn:ietf:params:oauth:client-assertion-type:jwt-bearer", request.ClientAssertionType);
        Assert.Equal(TokenServerStandIn.Scope, request.Scope);
        var verified = await new JsonWebTokenHandler().ValidateTokenAsync(request.ClientAssertion, new TokenValidationParameters
        {
            IssuerSigningKey = new RsaSecurityKey(_key.ExportParameters(false)),
            ValidIssuer = TokenServerStandIn.ClientId,
            ValidAudience = rig.Tokens.Issuer,
            ValidateLifetime = false, // checked below on the fake clock
        });
        Assert.True(verified.IsValid, verified.Exception?.Message);
        var jwt = (JsonWebToken)verified.SecurityToken;
        Assert.Equal("RS256", jwt.Alg);
        Assert.Equal("client-authentication+jwt", jwt.Typ);
        Assert.Equal(TokenServerStandIn.ClientId, jwt.Subject);
        Assert.False(string.IsNullOrEmpty(jwt.Id));
        Assert.True(jwt.ValidTo > _clock.GetUtcNow().UtcDateTime && jwt.ValidTo - jwt.IssuedAt <= TimeSpan.FromSeconds(120));

        // The bundle: POSTed to the base with the token just issued, FHIR JSON of the VKP resources as a transaction.
        var sent = Assert.Single(rig.Fhir.Received);
        Assert.Equal("Bearer " + Assert.Single(rig.Tokens.Issued), sent.Authorization);
        Assert.StartsWith("application/fhir+json", sent.ContentType, StringComparison.Ordinal);
        var bundle = JsonSerializer.Deserialize<Bundle>(sent.Body, FhirExport.JsonOptions)!;
        Assert.Equal(Bundle.BundleType.Transaction, bundle.Type);
        var issue = Assert.IsType<DetectedIssue>(bundle.Entry[0].Resource);
        Assert.Contains(FhirExport.DetectedIssueProfile, issue.Meta!.Profile);
        Assert.Equal("urn:uuid:" + first.AlarmId, issue.Identifier[0].Value);
        Assert.Equal(["DetectedIssue", "Encounter", "Composition"], bundle.Entry.Select(e => e.Resource!.TypeName));
        Assert.All(bundle.Entry, e =>
        {
            Assert.Equal(Bundle.HTTPVerb.POST, e.Request!.Method);
            Assert.StartsWith("identifier=urn:ietf:rfc:3986|urn:uuid:", e.Request.IfNoneExist, StringComparison.Ordinal);
        });
        var errors = FhirValidationTests.Validate(bundle).Where(i => i.Severity is OperationOutcome.IssueSeverity.Error or OperationOutcome.IssueSeverity.Fatal).ToList();
        Assert.True(errors.Count == 0, string.Join(Environment.NewLine, errors.Select(i => $"{i.Details?.Text} at {string.Join(",", i.Expression ?? [])}")));
        var state = await _store.VkpSendStateAsync(first, default);
        Assert.NotNull(state?.SentAt);
        Assert.Equal(1, state.Attempts);

        // A second alarm: the kept token, no second token request.
        var second = await CloseAsync("019ab3c4-5d60-7e21-9f3a-2b4c6d8e0002", note: null);
        Assert.Equal(1, (await NextPassAsync(rig, p => p.Sent > 0)).Sent);
        Assert.Single(rig.Tokens.Requests);
        Assert.Equal(1, rig.Sender.Tokens.Requests);
        Assert.Equal(2, rig.Fhir.Received.Count);
        Assert.All(rig.Fhir.Received, r => Assert.Equal(sent.Authorization, r.Authorization));
        Assert.Equal(2, JsonSerializer.Deserialize<Bundle>(rig.Fhir.Received.Last().Body, FhirExport.JsonOptions)!.Entry.Count); // no note, no Composition
        Assert.NotNull((await _store.VkpSendStateAsync(second, default))?.SentAt);
    }

    [Fact]
    public async System.Threading.Tasks.Task Vkp_a_5xx_from_the_endpoint_is_retried_after_a_back_off_and_each_alarm_is_sent_exactly_once_also_after_a_restart()
    {
        var rig = await StartAsync();
        rig.Fhir.Planned.Enqueue(503);

        var a = await CloseAsync("vkp-a");
        var failed = await NextPassAsync(rig, p => p.Failed > 0);
        Assert.True(failed.BackingOff);
        Assert.Contains("503", failed.Error, StringComparison.Ordinal);
        var state = await _store.VkpSendStateAsync(a, default);
        Assert.Null(state?.SentAt);
        Assert.Equal(1, state?.Attempts);
        Assert.Contains("HTTP 503", state?.LastError, StringComparison.Ordinal);

        // Closed during the back-off: waits with the rest (the back-off is not cut short by a close).
        var b = await CloseAsync("vkp-b");
        Assert.Single(rig.Fhir.Received);
        _clock.Advance(failed.Sleep);
        var sentPass = await NextPassAsync(rig, p => p.Sent > 0);
        Assert.Equal(2, sentPass.Sent);
        Assert.Equal(0, sentPass.Failed);

        Assert.Equal([503, 200, 200], rig.Fhir.Received.Select(r => r.AnsweredWith));
        var delivered = rig.Fhir.Received.Where(r => r.AnsweredWith == 200)
            .Select(r => JsonSerializer.Deserialize<Bundle>(r.Body, FhirExport.JsonOptions)!)
            .Select(x => Assert.IsType<DetectedIssue>(x.Entry[0].Resource).Identifier[0].Value).ToList();
        Assert.Equal(2, delivered.Distinct().Count());
        Assert.Equal(2, (await _store.VkpSendStateAsync(a, default))?.Attempts);
        Assert.Equal(1, (await _store.VkpSendStateAsync(b, default))?.Attempts);

        // Later sweeps and a restart of the sender on the same store send nothing again.
        _clock.Advance(TimeSpan.FromMinutes(rig.Settings.VkpSender.SweepMinutes));
        Assert.Equal(0, (await NextPassAsync(rig, p => p.Sent == 0 && !p.BackingOff)).Sent);
        await rig.Sender.StopAsync(default);
        var again = await StartSenderAsync(rig.Tokens, rig.Fhir, rig.Settings);
        _clock.Advance(TimeSpan.FromMinutes(rig.Settings.VkpSender.SweepMinutes));
        Assert.Equal(0, (await NextPassAsync(again)).Sent);
        Assert.Equal(3, rig.Fhir.Received.Count);
    }

    [Fact]
    public async System.Threading.Tasks.Task Vkp_a_wrong_key_is_refused_by_the_token_server_and_the_error_is_kept_and_logged_once_per_interval()
    {
        using var other = RSA.Create(2048);
        var rig = await StartAsync(registeredKey: other);

        var a = await CloseAsync("vkp-wrong-key");
        var failed = await NextPassAsync(rig, p => p.Failed > 0);
        Assert.True(failed.BackingOff);
        Assert.Contains("invalid_client", failed.Error, StringComparison.Ordinal);
        Assert.Equal("invalid_client", Assert.Single(rig.Tokens.Refusals));
        Assert.Empty(rig.Tokens.Issued);
        Assert.Empty(rig.Fhir.Received);

        var state = await _store.VkpSendStateAsync(a, default);
        Assert.Null(state?.SentAt);
        Assert.Contains("invalid_client", state?.LastError, StringComparison.Ordinal);
        Assert.Contains("public key", state?.LastError, StringComparison.Ordinal);

        // Tried again after the back-off, refused again: the cause is logged once in its interval, not per attempt.
        _clock.Advance(failed.Sleep);
        await NextPassAsync(rig, p => p.Failed > 0);
        Assert.Equal(2, rig.Tokens.Refusals.Count);
        var lines = _log.Lines.Where(l => l.Level == LogLevel.Warning && l.Message.Contains("invalid_client", StringComparison.Ordinal)).ToList();
        Assert.Single(lines);
        Assert.DoesNotContain(_log.Lines, l => l.Message.Contains("PRIVATE KEY", StringComparison.Ordinal));
        Assert.Equal(2, (await _store.VkpSendStateAsync(a, default))?.Attempts);
    }

    [Fact]
    public void Vkp_settings_are_checked_at_start_with_sentences_naming_each_key()
    {
        Assert.Empty(new VkpSenderSettings().Problems()); // off: nothing is checked
        var problems = new VkpSenderSettings { Enabled = true, TokenEndpoint = "http://helseid.example/connect/token", Algorithm = "HS256", RetrySeconds = 0 }.Problems();
        foreach (var key in new[] { "TokenEndpoint", "FhirBaseUrl", "ClientId", "Scope", "PrivateKeyPath", "Algorithm", "RetrySeconds" })
        {
            Assert.Contains(problems, p => p.StartsWith("Centre:VkpSender:" + key + ":", StringComparison.Ordinal));
        }

        Assert.Contains(problems, p => p.Contains("must use https", StringComparison.Ordinal));
        Assert.DoesNotContain(problems, p => p.Contains("System.", StringComparison.Ordinal) || p.Contains("Exception", StringComparison.Ordinal));

        var open = KeyFile(_key, "open.pem");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(open, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
            Assert.Contains(new VkpSenderSettings { Enabled = true, PrivateKeyPath = open }.Problems(), p => p.Contains("chmod 600", StringComparison.Ordinal));
        }

        var junk = _dir.File("junk.pem");
        File.WriteAllText(junk, "not a key");
        var error = Assert.Throws<InvalidOperationException>(() => ClientAssertion.Load(junk, null));
        Assert.StartsWith("Centre:VkpSender:PrivateKeyPath:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Vkp_an_enabled_sender_that_is_not_ready_stops_the_start_with_every_problem_named()
    {
        var error = Assert.Throws<InvalidOperationException>(() => Service.CentreApp.Build([], builder =>
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Centre:Database:ConnectionString"] = _dir.File("start.db"),
                ["Centre:Mqtt:Enabled"] = "false",
                ["Centre:VkpSender:Enabled"] = "true",
                ["Centre:VkpSender:TokenEndpoint"] = "https://helseid-sts.test.nhn.no/connect/token",
                ["Centre:VkpSender:PrivateKeyPath"] = _dir.File("missing.jwk"),
            })));
        Assert.StartsWith("The VKP sender is enabled but not ready:", error.Message, StringComparison.Ordinal);
        Assert.Contains("Centre:VkpSender:FhirBaseUrl:", error.Message, StringComparison.Ordinal);
        Assert.Contains("Centre:VkpSender:ClientId:", error.Message, StringComparison.Ordinal);
        Assert.Contains("Centre:VkpSender:PrivateKeyPath: there is no file at", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("TokenEndpoint", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async System.Threading.Tasks.Task Vkp_an_ec_key_in_a_jwk_file_signs_es256_assertions_that_verify()
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var p = ec.ExportParameters(true);
        var jwk = _dir.File("centre.jwk");
        File.WriteAllText(jwk, JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["kty"] = "EC", ["crv"] = "P-256", ["kid"] = "centre-2026",
            ["x"] = Base64UrlEncoder.Encode(p.Q.X), ["y"] = Base64UrlEncoder.Encode(p.Q.Y), ["d"] = Base64UrlEncoder.Encode(p.D),
        }));
        using var assertion = ClientAssertion.Load(jwk, null);
        Assert.Equal("ES256", assertion.Algorithm);
        Assert.Equal("centre-2026", assertion.KeyId);
        var token = assertion.Create("client", "https://helseid.example/connect/token", _clock.GetUtcNow(), TimeSpan.FromSeconds(60));
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(token, new TokenValidationParameters
        {
            IssuerSigningKey = new JsonWebKey(assertion.PublicJwk().ToJsonString()),
            ValidIssuer = "client",
            ValidAudience = "https://helseid.example/connect/token",
            ValidateLifetime = false,
        });
        Assert.True(result.IsValid, result.Exception?.Message);
    }
}

[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "disposed in IAsyncLifetime.DisposeAsync, which xunit calls")]
public sealed class SqliteVkpSenderTests : VkpSenderTests
{
    private readonly SqliteTestStores _stores = new();

    protected override Task<ICentreStore> NewStoreAsync() => _stores.NewAsync();

    public override async System.Threading.Tasks.Task DisposeAsync()
    {
        await base.DisposeAsync();
        _stores.Dispose();
    }
}

[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "disposed in IAsyncLifetime.DisposeAsync, which xunit calls")]
[Collection(PostgresGroup.Name)]
public sealed class PostgresVkpSenderTests(PostgresServer server) : VkpSenderTests
{
    private readonly PostgresTestStores _stores = new(server);

    protected override Task<ICentreStore> NewStoreAsync() => _stores.NewAsync();

    public override async System.Threading.Tasks.Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _stores.DisposeAsync();
    }
}
