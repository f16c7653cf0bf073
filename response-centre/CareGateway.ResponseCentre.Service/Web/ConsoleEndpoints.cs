using System.Globalization;
using System.Security.Claims;
using System.Text;
using CareGateway.ResponseCentre.Service.Centre;
using CareGateway.ResponseCentre.Service.Figures;
using CareGateway.ResponseCentre.Service.Fhir;
using CareGateway.ResponseCentre.Service.Storage;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CareGateway.ResponseCentre.Service.Web;

/// <summary>
/// The operator console: cookie login (passwords hashed by ASP.NET Core Identity's PBKDF2 hasher), every endpoint
/// behind login except the login page, antiforgery tokens on every form, and server-sent events for the live queue.
/// </summary>
public static class ConsoleEndpoints
{
    public const string LangCookie = "centre-lang";
    public const string CsrfField = "csrf";

    /// <summary>Longest user name the login form takes; longer ones are refused before any lookup or throttle entry.</summary>
    public const int MaxUserNameLength = 100;

    /// <summary>Longest password the login form takes (long enough for any pass phrase, short enough to hash cheaply).</summary>
    public const int MaxPasswordLength = 256;

    /// <summary>Largest login request body: the token, the name, the password and the return address fit with room to spare.</summary>
    public const int MaxLoginBodyBytes = 8 * 1024;

    public static void AddConsole(IServiceCollection services)
    {
        services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie(o =>
        {
            o.LoginPath = "/login";
            o.AccessDeniedPath = "/login";
            o.Cookie.Name = "centre-auth";
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.ExpireTimeSpan = TimeSpan.FromHours(12);
            o.SlidingExpiration = true;
        });
        services.AddAuthorization(o =>
        {
            o.FallbackPolicy = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build();
            o.AddPolicy(Roles.Admin, p => p.RequireRole(Roles.Admin));
        });
        services.AddAntiforgery(o =>
        {
            o.FormFieldName = CsrfField;
            o.Cookie.Name = "centre-csrf";
            o.Cookie.SameSite = SameSiteMode.Strict;
        });
        services.TryAddSingleton<IPasswordHasher<CentreUser>, PasswordHasher<CentreUser>>();
        services.AddSingleton<LoginThrottle>();
    }

    public static void MapConsole(WebApplication app)
    {
        app.Use(async (ctx, next) =>
        {
            ctx.Response.Headers["X-Content-Type-Options"] = "nosniff";
            ctx.Response.Headers["X-Frame-Options"] = "DENY";
            // same-origin: the language switch returns to the page it came from; nothing leaks to other sites.
            ctx.Response.Headers["Referrer-Policy"] = "same-origin";
            ctx.Response.Headers["Content-Security-Policy"] = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'";
            await next();
        });
        app.UseAuthentication();
        app.UseAuthorization();

        app.MapGet("/login", (HttpContext ctx, string? lang, string? returnUrl) =>
        {
            if (lang is not null)
            {
                SetLang(ctx, lang);
            }

            return HtmlResult(Pages.Login(Page(ctx, null, lang), false, returnUrl));
        }).AllowAnonymous();

        app.MapPost("/login", async (HttpContext ctx, ICentreStore store, IPasswordHasher<CentreUser> hasher, LoginThrottle throttle) =>
        {
            var form = await ctx.Request.ReadFormAsync();
            var name = form["username"].ToString();
            if (name.Length > MaxUserNameLength || form["password"].ToString().Length > MaxPasswordLength)
            {
                return HtmlResult(Pages.Login(Page(ctx, null), true, null), StatusCodes.Status400BadRequest);
            }

            if (throttle.TryBegin(name, ctx.Connection.RemoteIpAddress?.ToString() ?? "") is { } wait)
            {
                ctx.Response.Headers.RetryAfter = Math.Ceiling(wait.TotalSeconds).ToString(CultureInfo.InvariantCulture);
                return HtmlResult(Pages.Login(Page(ctx, null), true, form["returnUrl"]), StatusCodes.Status429TooManyRequests);
            }

            var user = name.Length == 0 ? null : await store.FindUserAsync(name, ctx.RequestAborted);
            // An unknown name costs the same hash as a known one, so that names cannot be told apart by timing.
            var checkedAgainst = user ?? UnknownUser;
            var verified = hasher.VerifyHashedPassword(checkedAgainst, user?.PasswordHash ?? DummyHash(hasher), form["password"].ToString());
            var ok = user is not null && verified != PasswordVerificationResult.Failed;
            if (!ok)
            {
                return HtmlResult(Pages.Login(Page(ctx, null), true, form["returnUrl"]), StatusCodes.Status401Unauthorized);
            }

            throttle.Succeeded(name);

            var identity = new ClaimsIdentity(
                [new Claim(ClaimTypes.Name, user!.UserName), new Claim(ClaimTypes.NameIdentifier, user.OperatorId), new Claim(ClaimTypes.Role, user.Role)],
                CookieAuthenticationDefaults.AuthenticationScheme);
            await ctx.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, new ClaimsPrincipal(identity));
            var returnUrl = form["returnUrl"].ToString();
            return Results.LocalRedirect(returnUrl.StartsWith('/') && !returnUrl.StartsWith("//", StringComparison.Ordinal) ? returnUrl : "/");
        }).AllowAnonymous().AddEndpointFilter(LimitLoginBody).AddEndpointFilter(ValidateCsrf);

        var console = app.MapGroup("");
        console.MapPost("/logout", async (HttpContext ctx) =>
        {
            await ctx.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return Results.Redirect("/login");
        }).AddEndpointFilter(ValidateCsrf);

        console.MapPost("/lang", async (HttpContext ctx) =>
        {
            var form = await ctx.Request.ReadFormAsync();
            SetLang(ctx, form["lang"].ToString());
            var back = ctx.Request.Headers.Referer.ToString();
            return Results.LocalRedirect(Uri.TryCreate(back, UriKind.Absolute, out var u) && u.Host == ctx.Request.Host.Host ? u.PathAndQuery : "/");
        }).AddEndpointFilter(ValidateCsrf);

        console.MapGet("/console.js", () => Results.Text(ConsoleAssets.Js, "text/javascript", Encoding.UTF8));

        console.MapGet("/", async (HttpContext ctx, ICentreStore store) =>
        {
            var p = await UserPageAsync(ctx, store);
            return HtmlResult(Pages.Queue(p, await store.OpenAlarmsAsync(ctx.RequestAborted), await GatewayMapAsync(store, ctx)));
        });

        console.MapGet("/queue/rows", async (HttpContext ctx, ICentreStore store) =>
        {
            var p = await UserPageAsync(ctx, store);
            return HtmlResult(Pages.QueueRows(p, await store.OpenAlarmsAsync(ctx.RequestAborted), await GatewayMapAsync(store, ctx)));
        });

        console.MapGet("/events", ServerSentEventsAsync);

        console.MapPost("/alarms/{id}/accept", async (string id, HttpContext ctx, CentreCore core, ICentreStore store) =>
        {
            var user = await CurrentUserAsync(ctx, store);
            var result = await core.AcceptAsync(AlarmIdFromPath(ctx, id), user, ctx.RequestAborted);
            return result == OperatorResult.NotFound ? Results.NotFound() : Results.Redirect("/");
        }).AddEndpointFilter(ValidateCsrf);

        console.MapPost("/alarms/{id}/close", async (string id, HttpContext ctx, CentreCore core, ICentreStore store) =>
        {
            var form = await ctx.Request.ReadFormAsync();
            var outcome = form["outcome"].ToString();
            if (!CloseOutcome.IsValid(outcome))
            {
                return Results.BadRequest($"outcome: '{outcome}' is not one of {string.Join(", ", CloseOutcome.All)}");
            }

            var user = await CurrentUserAsync(ctx, store);
            var result = await core.CloseAsync(AlarmIdFromPath(ctx, id), user, form["note"].ToString(), outcome, ctx.RequestAborted);
            return result == OperatorResult.NotFound ? Results.NotFound() : Results.Redirect("/");
        }).AddEndpointFilter(ValidateCsrf);

        console.MapGet("/history", async (HttpContext ctx, ICentreStore store, string? from, string? to) =>
        {
            var p = await UserPageAsync(ctx, store);
            var (f, t) = Period(p, from, to, 7);
            return HtmlResult(Pages.History(p, await store.AlarmsAsync(f, t, 500, ctx.RequestAborted), f, t));
        });

        console.MapGet("/gateways", async (HttpContext ctx, ICentreStore store) =>
        {
            var p = await UserPageAsync(ctx, store);
            return HtmlResult(Pages.Gateways(p, await store.GatewaysAsync(ctx.RequestAborted), await store.OpenAlarmsAsync(ctx.RequestAborted),
                await store.SensorsNeedingAttentionAsync(ctx.RequestAborted)));
        });

        console.MapPost("/gateways/{id}", async (string id, HttpContext ctx, ICentreStore store, CentreEvents events) =>
        {
            if (!CareGateway.Protocol.GatewayId.IsValid(id))
            {
                return Results.BadRequest($"'{id}' is not a valid gateway id");
            }

            var form = await ctx.Request.ReadFormAsync();
            static string? Clean(string s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim()[..Math.Min(s.Trim().Length, 100)];
            await store.SetGatewayLabelAsync(id, Clean(form["label"].ToString()), Clean(form["group"].ToString()), ctx.RequestAborted);
            events.Publish("gateway");
            return Results.Redirect("/gateways");
        }).RequireAuthorization(Roles.Admin).AddEndpointFilter(ValidateCsrf);

        console.MapGet("/figures", async (HttpContext ctx, ICentreStore store, string? from, string? to, string? period, string? group) =>
        {
            var p = await UserPageAsync(ctx, store);
            var (f, t) = Period(p, from, to, 30);
            var report = await QualityFigures.ComputeAsync(store, f, t, FigurePeriods.Parse(period), group, p.Zone, p.Now, ctx.RequestAborted);
            var groups = (await store.GatewaysAsync(ctx.RequestAborted)).Select(g => g.HomeGroup).OfType<string>().Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            return HtmlResult(FiguresPage.Render(p, report, groups, ctx.Request.QueryString.Value ?? ""));
        });

        console.MapGet("/figures.csv", async (HttpContext ctx, ICentreStore store, string? from, string? to, string? period, string? group) =>
        {
            var p = await UserPageAsync(ctx, store);
            var (f, t) = Period(p, from, to, 30);
            var report = await QualityFigures.ComputeAsync(store, f, t, FigurePeriods.Parse(period), group, p.Zone, p.Now, ctx.RequestAborted);
            return Results.File(Encoding.UTF8.GetBytes(QualityFigures.ToCsv(report)), "text/csv; charset=utf-8", "quality-figures.csv");
        });

        console.MapGet("/figures.json", async (HttpContext ctx, ICentreStore store, string? from, string? to, string? period, string? group) =>
        {
            var p = await UserPageAsync(ctx, store);
            var (f, t) = Period(p, from, to, 30);
            var report = await QualityFigures.ComputeAsync(store, f, t, FigurePeriods.Parse(period), group, p.Zone, p.Now, ctx.RequestAborted);
            return Results.File(QualityFigures.ToJson(report), "application/json", "quality-figures.json");
        });

        console.MapGet("/export", async (HttpContext ctx, ICentreStore store, string? from, string? to) =>
        {
            var p = await UserPageAsync(ctx, store);
            var (f, t) = Period(p, from, to, 1);
            return HtmlResult(FiguresPage.ExportPage(p, f, t));
        });

        console.MapGet("/export/fhir", async (HttpContext ctx, ICentreStore store, CentreSettings settings, string? from, string? to) =>
        {
            var p = await UserPageAsync(ctx, store);
            var (f, t) = Period(p, from, to, 1);
            var alarms = (await store.AlarmsAsync(f, t, 10_000, ctx.RequestAborted)).Where(FhirExport.IsExportable).ToList();
            var gateways = await GatewayMapAsync(store, ctx);
            var json = FhirExport.ToJson(FhirExport.Build(alarms, gateways, settings.CentreId, p.Now));
            return Results.File(Encoding.UTF8.GetBytes(json), "application/fhir+json", "alarms-fhir.json");
        });
    }

    private static async Task ServerSentEventsAsync(HttpContext ctx, CentreEvents events, TimeProvider time, IHostApplicationLifetime lifetime)
    {
        // The stream ends when the operator leaves or the service stops (so that a shutdown does not wait for it).
        using var ended = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, lifetime.ApplicationStopping);
        var stop = ended.Token;
        ctx.Response.Headers.ContentType = "text/event-stream";
        ctx.Response.Headers.CacheControl = "no-cache";
        ctx.Response.Headers["X-Accel-Buffering"] = "no";
        var channel = events.Subscribe();
        try
        {
            await ctx.Response.WriteAsync("retry: 2000\n\n", stop);
            await ctx.Response.Body.FlushAsync(stop);
            while (!stop.IsCancellationRequested)
            {
                string kind;
                using (var tick = new CancellationTokenSource(TimeSpan.FromSeconds(15), time))
                using (var linked = CancellationTokenSource.CreateLinkedTokenSource(tick.Token, stop))
                {
                    try
                    {
                        kind = await channel.Reader.ReadAsync(linked.Token);
                    }
                    catch (OperationCanceledException) when (!stop.IsCancellationRequested)
                    {
                        // A regular tick: the page re-reads the queue, which also shows changes made by other instances.
                        kind = "tick";
                    }
                }

                await ctx.Response.WriteAsync($"event: {kind}\ndata: {kind}\n\n", stop);
                await ctx.Response.Body.FlushAsync(stop);
            }
        }
        catch (OperationCanceledException)
        {
            // The operator closed the page.
        }
        finally
        {
            events.Unsubscribe(channel);
        }
    }

    /// <summary>
    /// Refuses a login request over <see cref="MaxLoginBodyBytes"/> before anything reads it (the CSRF check reads
    /// the form): by its declared length at once, and a body sent without one stops being read at the limit.
    /// </summary>
    private static async ValueTask<object?> LimitLoginBody(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var ctx = context.HttpContext;
        var tooLarge = Results.Text($"The login form is larger than {MaxLoginBodyBytes} bytes and was not read.", "text/plain; charset=utf-8", Encoding.UTF8, StatusCodes.Status413PayloadTooLarge);
        if (ctx.Request.ContentLength > MaxLoginBodyBytes)
        {
            return tooLarge;
        }

        if (ctx.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = MaxLoginBodyBytes;
        }

        try
        {
            // Read (and buffer) the form here, under the limit, so that the CSRF check and the handler reuse it.
            await ctx.Request.ReadFormAsync(new Microsoft.AspNetCore.Http.Features.FormOptions
            {
                ValueLengthLimit = MaxLoginBodyBytes,
                KeyLengthLimit = 64,
                ValueCountLimit = 16,
            }, ctx.RequestAborted);
        }
        catch (Exception e) when (e is BadHttpRequestException or InvalidDataException)
        {
            return tooLarge;
        }

        return await next(context);
    }

    private static async ValueTask<object?> ValidateCsrf(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var antiforgery = context.HttpContext.RequestServices.GetRequiredService<IAntiforgery>();
        if (!await antiforgery.IsRequestValidAsync(context.HttpContext))
        {
            return Results.BadRequest("The form's security token is missing or out of date (CSRF check). Reload the page and try again.");
        }

        return await next(context);
    }

    private static readonly CentreUser UnknownUser = new() { UserName = "", OperatorId = "", PasswordHash = "", Role = Roles.Operator };
    private static string? _dummyHash;

    /// <summary>A hash of a random password, made once by the same hasher (so with the same work) as the real ones.</summary>
    private static string DummyHash(IPasswordHasher<CentreUser> hasher) =>
        _dummyHash ??= hasher.HashPassword(UnknownUser, Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24)));

    private static IResult HtmlResult(string html, int status = StatusCodes.Status200OK) =>
        Results.Content(html, "text/html; charset=utf-8", Encoding.UTF8, status);

    private static void SetLang(HttpContext ctx, string lang) =>
        ctx.Response.Cookies.Append(LangCookie, Texts.Normalize(lang), new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Strict, MaxAge = TimeSpan.FromDays(365), IsEssential = true });

    private static PageContext Page(HttpContext ctx, CentreUser? user, string? langOverride = null)
    {
        var settings = ctx.RequestServices.GetRequiredService<CentreSettings>();
        var lang = Texts.Normalize(langOverride ?? ctx.Request.Cookies[LangCookie] ?? settings.DefaultLanguage);
        var tokens = ctx.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(ctx);
        return new PageContext(lang, user, tokens.FormFieldName, tokens.RequestToken ?? "", Zone(settings.TimeZone), ctx.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow());
    }

    private static async Task<PageContext> UserPageAsync(HttpContext ctx, ICentreStore store) => Page(ctx, await CurrentUserAsync(ctx, store));

    private static async Task<CentreUser> CurrentUserAsync(HttpContext ctx, ICentreStore store)
    {
        var name = ctx.User.Identity?.Name ?? throw new InvalidOperationException("no user on an authorized endpoint");
        return await store.FindUserAsync(name, ctx.RequestAborted)
            ?? new CentreUser { UserName = name, OperatorId = ctx.User.FindFirstValue(ClaimTypes.NameIdentifier) ?? name, PasswordHash = "", Role = ctx.User.FindFirstValue(ClaimTypes.Role) ?? Roles.Operator };
    }

    private static async Task<IReadOnlyDictionary<string, GatewayRecord>> GatewayMapAsync(ICentreStore store, HttpContext ctx) =>
        (await store.GatewaysAsync(ctx.RequestAborted)).ToDictionary(g => g.GatewayId, StringComparer.Ordinal);

    private static TimeZoneInfo Zone(string id)
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

    /// <summary>[from, to) from dates in the centre's zone; <c>to</c> is inclusive as a date. Defaults to the last <paramref name="days"/> days.</summary>
    internal static (DateTimeOffset From, DateTimeOffset To) Period(PageContext p, string? from, string? to, int days)
    {
        DateTimeOffset? Day(string? s) => DateOnly.TryParseExact(s, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d)
            ? LocalMidnight(p.Zone, d) : null;
        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(p.Now, p.Zone).DateTime);
        var end = Day(to) is { } e ? LocalMidnight(p.Zone, DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(e, p.Zone).DateTime).AddDays(1)) : LocalMidnight(p.Zone, today.AddDays(1));
        var start = Day(from) ?? LocalMidnight(p.Zone, today.AddDays(1 - days));
        return (start, end > start ? end : start.AddDays(1));
    }

    internal static DateTimeOffset LocalMidnight(TimeZoneInfo zone, DateOnly day)
    {
        var local = day.ToDateTime(TimeOnly.MinValue, DateTimeKind.Unspecified);
        return new DateTimeOffset(local, zone.GetUtcOffset(local));
    }

    /// <summary>
    /// The alarm id as the console wrote it into the link (URL-encoded). The server decodes every escape but
    /// <c>%2F</c> in the route value, so the id is read from the raw request target and decoded exactly once.
    /// </summary>
    private static string AlarmIdFromPath(HttpContext ctx, string routeValue)
    {
        var raw = ctx.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()?.RawTarget;
        const string prefix = "/alarms/";
        if (raw is null || !raw.StartsWith(prefix, StringComparison.Ordinal))
        {
            return routeValue;
        }

        var end = raw.IndexOf('/', prefix.Length);
        return end < 0 ? routeValue : Uri.UnescapeDataString(raw[prefix.Length..end]);
    }
}
