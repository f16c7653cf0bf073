using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using CareGateway.Protocol;
using CareGateway.Resilience;
using CareGateway.ResponseCentre.Service.Centre;
using CareGateway.ResponseCentre.Service.Fhir;
using CareGateway.ResponseCentre.Service.Storage;

namespace CareGateway.ResponseCentre.Service.Vkp;

/// <summary>What one pass of the sender did, and how long it then sleeps (for the log and the tests).</summary>
public sealed record VkpPass(int Sent, int Failed, string? Error, bool BackingOff, TimeSpan Sleep);

/// <summary>
/// Sends each closed care alarm's VKP bundle to the municipality's FHIR endpoint, once (issue 18; docs/response-centre.md,
/// "Sending to VKP"). The queue is the store (<c>vkp_send</c>): what was sent survives a restart, and an alarm closed
/// while the endpoint was away is sent when it is back. Idle means asleep: the sender waits for an alarm to close
/// (<see cref="CentreEvents.WatchClosed"/>), looking again after <see cref="VkpSenderSettings.SweepMinutes"/> at the
/// latest. A failure of the token service or the endpoint stops the pass and backs off (<see cref="Backoff"/>, on
/// <see cref="TimeProvider"/>); a bundle the endpoint refuses (4xx) holds back only that alarm, on its own back-off.
/// Each failure is kept in the queue's <c>last_error</c> and logged once per cause per interval.
/// </summary>
public sealed class VkpSender : BackgroundService
{
    private const int Batch = 20;

    private static readonly string[] CareTypes = [.. AlarmCatalog.All.Where(t => !t.Technical).Select(t => t.Type)];

    private readonly ICentreStore _store;
    private readonly TimeProvider _time;
    private readonly CentreSettings _centre;
    private readonly VkpSenderSettings _settings;
    private readonly ILogger<VkpSender> _log;
    private readonly RepeatedErrorLog _errors;
    private readonly SemaphoreSlim _closed = new(0, int.MaxValue);
    private readonly HttpClient _http;
    private readonly ClientAssertion _key;
    private readonly Backoff _backoff;
    private readonly TimeZoneInfo _zone;
    private string? _lastCause;

    private readonly Homes.HomeRecords? _homes;

    /// <param name="homes">The resident records: the patient of a home that has one (with a national identity number) is the resident.</param>
    public VkpSender(ICentreStore store, CentreEvents events, TimeProvider time, CentreSettings settings, ILogger<VkpSender> log, Homes.HomeRecords? homes = null)
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(settings);
        _store = store;
        _time = time;
        _centre = settings;
        _homes = homes;
        _settings = settings.VkpSender;
        _log = log;
        _errors = new RepeatedErrorLog(log, time);
        _key = ClientAssertion.Load(_settings.PrivateKeyPath!, _settings.Algorithm);
        _backoff = new Backoff(TimeSpan.FromSeconds(_settings.RetrySeconds), TimeSpan.FromSeconds(_settings.RetryMaxSeconds));
        _http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = TimeSpan.FromSeconds(_settings.RequestTimeoutSeconds) };
        Tokens = new VkpTokenClient(_http, _settings, _key, time);
        _zone = ZoneOf(settings.TimeZone);
        events.WatchClosed(_closed);
    }

    /// <summary>The token client (its kept token and request count).</summary>
    public VkpTokenClient Tokens { get; }

    /// <summary>Called after each pass once its sleep has begun (so a test may move a fake clock past it). Null in service.</summary>
    public Action<VkpPass>? PassObserved { get; set; }

    /// <summary>One pass: sends every due alarm until none is left or the token service or the endpoint fails.</summary>
    public async Task<(int Sent, int Failed, VkpSendException? Stopped)> SendDueAsync(CancellationToken ct)
    {
        int sent = 0, failed = 0;
        var heldBack = new HashSet<AlarmKey>();
        while (true)
        {
            var due = (await _store.VkpDueAsync(_time.GetUtcNow(), _settings.SendClosedSince, CareTypes, Batch, ct)).Where(a => !heldBack.Contains(a.Key)).ToList();
            if (due.Count == 0)
            {
                return (sent, failed, null);
            }

            foreach (var alarm in due)
            {
                if (!FhirExport.IsExportable(alarm))
                {
                    // Closed, raised, a care type, from a gateway: the store's filter is the export's; never expected.
                    await _store.MarkVkpFailedAsync(alarm.Key, _time.GetUtcNow(), "not a closed care alarm; not sent", DateTimeOffset.MaxValue, ct);
                    heldBack.Add(alarm.Key);
                    continue;
                }

                try
                {
                    await SendAsync(alarm, ct);
                    await _store.MarkVkpSentAsync(alarm.Key, _time.GetUtcNow(), ct);
                    sent++;
                    if (_lastCause is { } cause)
                    {
                        _errors.Recovered(cause, "VKP sender: sending again");
                        _lastCause = null;
                    }

                    _log.LogInformation("VKP: alarm {AlarmId} of {GatewayId} sent", alarm.AlarmId, alarm.GatewayId);
                }
                catch (VkpSendException ex)
                {
                    failed++;
                    var now = _time.GetUtcNow();
                    var state = await _store.VkpSendStateAsync(alarm.Key, ct);
                    DateTimeOffset? next = ex.ThisAlarmOnly ? now + _backoff.Delay((state?.Attempts ?? 0) + 1, Random.Shared.NextDouble()) : null;
                    await _store.MarkVkpFailedAsync(alarm.Key, now, ex.Message, next, ct);
                    _lastCause = "vkp:" + ex.Cause;
                    _errors.Report(_lastCause, LogLevel.Warning, $"VKP sender: alarm {alarm.AlarmId} of {alarm.GatewayId} not sent: {ex.Message}");
                    if (!ex.ThisAlarmOnly)
                    {
                        return (sent, failed, ex);
                    }

                    heldBack.Add(alarm.Key);
                }
            }
        }
    }

    /// <summary>POSTs the alarm's transaction bundle to the FHIR base with the bearer token; one new token on a 401.</summary>
    private async Task SendAsync(StoredAlarm alarm, CancellationToken ct)
    {
        var home = await _store.GetGatewayAsync(alarm.GatewayId, ct);
        var record = _homes is null ? null : (await _homes.ForListAsync([alarm.GatewayId], ct)).GetValueOrDefault(alarm.GatewayId);
        var handling = await _store.HandlingAsync(new AlarmKey(alarm.GatewayId, alarm.AlarmId), ct);
        var json = FhirExport.ToJson(FhirExport.Transaction(alarm, home, _centre.CentreId, _time.GetUtcNow(), _zone, record, handling));
        for (var attempt = 1; ; attempt++)
        {
            var token = await Tokens.GetAsync(ct);
            using var request = new HttpRequestMessage(HttpMethod.Post, _settings.FhirBaseUrl)
            {
                Content = new StringContent(json, Encoding.UTF8, "application/fhir+json"),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/fhir+json"));
            HttpResponseMessage response;
            try
            {
                response = await _http.SendAsync(request, ct);
            }
            catch (HttpRequestException ex)
            {
                throw new VkpSendException("fhir:unreachable", $"the FHIR endpoint at {_settings.FhirBaseUrl} cannot be reached ({ex.Message})", ex);
            }
            catch (TaskCanceledException ex) when (!ct.IsCancellationRequested)
            {
                throw new VkpSendException("fhir:timeout", $"the FHIR endpoint at {_settings.FhirBaseUrl} did not answer in {_settings.RequestTimeoutSeconds} s", ex);
            }

            using (response)
            {
                if (response.IsSuccessStatusCode)
                {
                    return;
                }

                var status = (int)response.StatusCode;
                if (response.StatusCode == HttpStatusCode.Unauthorized && attempt == 1)
                {
                    Tokens.Forget();
                    continue;
                }

                var body = await response.Content.ReadAsStringAsync(ct);
                var detail = body.Length > 300 ? body[..300] + "..." : body;
                var words = string.Create(CultureInfo.InvariantCulture, $"the FHIR endpoint answered HTTP {status}{(detail.Length > 0 ? ": " + detail.ReplaceLineEndings(" ") : "")}");
                // A 4xx other than these says this bundle is wrong (the hub's profile check, say): the others go on.
                var thisAlarmOnly = status is >= 400 and < 500 and not (401 or 403 or 408 or 429);
                throw new VkpSendException("fhir:" + status.ToString(CultureInfo.InvariantCulture), words, thisAlarmOnly: thisAlarmOnly);
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _log.LogInformation("VKP sender on: token endpoint {TokenEndpoint}, client {ClientId}, scope {Scope}, key {Algorithm} (kid {KeyId}), FHIR endpoint {FhirBaseUrl}",
            _settings.TokenEndpoint, _settings.ClientId, _settings.Scope, _key.Algorithm, _key.KeyId, _settings.FhirBaseUrl);
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            VkpPass pass;
            Task sleep;
            try
            {
                var (sent, failed, stopped) = await SendDueAsync(stoppingToken);
                if (stopped is not null)
                {
                    failures++;
                    var delay = _backoff.Delay(failures, Random.Shared.NextDouble());
                    sleep = Task.Delay(delay, _time, stoppingToken);
                    pass = new VkpPass(sent, failed, stopped.Message, BackingOff: true, delay);
                }
                else
                {
                    failures = 0;
                    var timeout = TimeSpan.FromMinutes(_settings.SweepMinutes);
                    if (await _store.VkpNextAttemptAsync(stoppingToken) is { } next && next - _time.GetUtcNow() < timeout)
                    {
                        timeout = next - _time.GetUtcNow() > TimeSpan.Zero ? next - _time.GetUtcNow() : TimeSpan.FromMilliseconds(1);
                    }

                    sleep = SignalWait.WaitAsync(_closed, timeout, _time, stoppingToken);
                    pass = new VkpPass(sent, failed, null, BackingOff: false, timeout);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The database is away for a moment: nothing is lost by waiting (the queue is the store).
                failures++;
                var delay = _backoff.Delay(failures, Random.Shared.NextDouble());
                _errors.Report("vkp:store", LogLevel.Warning, "VKP sender: the send queue cannot be read: " + Failure.Describe(ex), ex);
                sleep = Task.Delay(delay, _time, stoppingToken);
                pass = new VkpPass(0, 0, ex.Message, BackingOff: true, delay);
            }

            PassObserved?.Invoke(pass);
            try
            {
                await sleep;
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static TimeZoneInfo ZoneOf(string id)
    {
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(id);
        }
        catch (TimeZoneNotFoundException)
        {
            return TimeZoneInfo.Utc;
        }
    }

    public override void Dispose()
    {
        Tokens.Dispose();
        _http.Dispose();
        _key.Dispose();
        _closed.Dispose();
        base.Dispose();
    }
}
