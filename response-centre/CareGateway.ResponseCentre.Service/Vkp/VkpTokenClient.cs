using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;

namespace CareGateway.ResponseCentre.Service.Vkp;

/// <summary>
/// Gets access tokens by OAuth 2.0 client credentials with <c>private_key_jwt</c> (as HelseID asks for machine-to-machine
/// clients) and keeps one until shortly before it expires, so a run of alarms costs one token request.
/// </summary>
public sealed class VkpTokenClient(HttpClient http, VkpSenderSettings settings, ClientAssertion key, TimeProvider time) : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private string? _token;
    private DateTimeOffset _renewAt;

    /// <summary>How many token requests were made (for the tests and the log).</summary>
    public int Requests { get; private set; }

    /// <summary>A valid access token: the kept one, or a new one. Throws <see cref="VkpSendException"/> saying what the token service answered.</summary>
    public async Task<string> GetAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            if (_token is { } kept && time.GetUtcNow() < _renewAt)
            {
                return kept;
            }

            _token = null;
            var now = time.GetUtcNow();
            var tokenEndpoint = settings.TokenEndpoint!;
            var assertion = key.Create(settings.ClientId!, settings.Audience ?? tokenEndpoint, now, TimeSpan.FromSeconds(settings.AssertionSeconds));
            using var form = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = "client_credentials",
                ["client_id"] = settings.ClientId!,
                ["client_assertion_type"] = ClientAssertion.AssertionType,
                ["client_assertion"] = assertion,
                ["scope"] = settings.Scope!,
            });
            using var request = new HttpRequestMessage(HttpMethod.Post, tokenEndpoint) { Content = form };
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            Requests++;
            using var response = await http.SendAsync(request, ct);
            var body = await response.Content.ReadAsStringAsync(ct);
            if (!response.IsSuccessStatusCode)
            {
                // RFC 6749 5.2: error and error_description; invalid_client is a key or registration problem.
                var (error, description) = ErrorOf(body);
                throw new VkpSendException("token:" + (error ?? ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture)),
                    $"the token service refused the centre: HTTP {(int)response.StatusCode} {error}{(description is null ? "" : " (" + description + ")")}"
                    + (error == "invalid_client" ? "; check ClientId and that the registration holds the public key of PrivateKeyPath" : ""));
            }

            string token;
            double expiresIn;
            try
            {
                using var json = JsonDocument.Parse(body);
                token = json.RootElement.GetProperty("access_token").GetString() ?? throw new FormatException("access_token is null");
                expiresIn = json.RootElement.TryGetProperty("expires_in", out var e) && e.TryGetDouble(out var s) ? s : 300;
            }
            catch (Exception ex) when (ex is JsonException or KeyNotFoundException or FormatException or InvalidOperationException)
            {
                throw new VkpSendException("token:answer", "the token service's answer has no access token");
            }

            // Renewed a minute before it expires (half its life for a short one), so no request goes out with a token
            // about to lapse on the way.
            var life = TimeSpan.FromSeconds(Math.Max(1, expiresIn));
            _renewAt = now + life - TimeSpan.FromTicks(Math.Min(TimeSpan.FromMinutes(1).Ticks, life.Ticks / 2));
            _token = token;
            return token;
        }
        catch (HttpRequestException ex)
        {
            throw new VkpSendException("token:unreachable", $"the token service at {settings.TokenEndpoint} cannot be reached ({ex.Message})", ex);
        }
        catch (TaskCanceledException ex) when (!ct.IsCancellationRequested)
        {
            throw new VkpSendException("token:timeout", $"the token service at {settings.TokenEndpoint} did not answer in {settings.RequestTimeoutSeconds} s", ex);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Forgets the kept token (the API refused it: revoked, or the clocks disagree).</summary>
    public void Forget()
    {
        _token = null;
    }

    public void Dispose() => _gate.Dispose();

    private static (string? Error, string? Description) ErrorOf(string body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            return (Member(json.RootElement, "error"), Member(json.RootElement, "error_description"));
        }
        catch (JsonException)
        {
            return (null, null);
        }

        static string? Member(JsonElement e, string name) =>
            e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
    }
}

/// <summary>
/// One failed send, in words for the log and the queue's <c>last_error</c>: <see cref="Cause"/> groups repeats (the log
/// says each cause once per interval). A failure stops the pass and the sender backs off, unless it is
/// <see cref="ThisAlarmOnly"/> (the FHIR endpoint refused this one bundle): then only that alarm is held back.
/// </summary>
public sealed class VkpSendException : Exception
{
    public VkpSendException()
        : this("unknown", "the send failed")
    {
    }

    public VkpSendException(string message)
        : this("unknown", message)
    {
    }

    public VkpSendException(string message, Exception inner)
        : this("unknown", message, inner)
    {
    }

    public VkpSendException(string cause, string message, Exception? inner = null, bool thisAlarmOnly = false)
        : base(message, inner)
    {
        Cause = cause;
        ThisAlarmOnly = thisAlarmOnly;
    }

    public string Cause { get; } = "unknown";

    public bool ThisAlarmOnly { get; }
}
