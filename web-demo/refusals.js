// The user's phrase for every refusal, in Spanish, Portuguese and English:
// a phrase per stable error code of the engine (ERROR_CODES of
// ./generated/enums.js), of the host (host/src/http) and of the sign-in with
// the agency's provider (./signin.js: `sign_in_*`), a phrase per input
// rule (INPUT_RULES), and the engine's `not_permitted` actions. Phrases take
// the error's `details` as {placeholders}. Nothing here reads the engine's
// English: codes select the phrase.

import { fill, formatInstant, language, t } from "./i18n.js";

/** One phrase per stable error code; {placeholders} come from `details`. */
const ERRORS = {
  en: {
    invalid_input: "Check {field}: {reason}.",
    invalid_input_here: "Check this field: {reason}.",
    unknown_facility: "There is no facility {facility}.",
    unknown_service: "There is no service {service}.",
    unknown_agenda: "There is no agenda {agenda}.",
    unknown_beneficiary: "There is no beneficiary {beneficiary}.",
    unknown_appointment: "There is no appointment {appointment}.",
    unknown_waitlist_entry: "There is no waitlist entry {entry}.",
    unknown_referral: "There is no referral {referral}.",
    unknown_agreement: "There is no agreement {agreement}.",
    unknown_time_zone: "Unknown time zone {time_zone}.",
    unknown_resource: "{resource_type}/{id} was not found.",
    already_exists: "{id} already exists.",
    service_not_offered: "Facility {facility} does not offer {service}.",
    not_permitted: "Your role ({role}) may not {action}.",
    outside_availability: "That time is not a slot of the agenda.",
    agenda_closed: "The agenda is closed on {date}.",
    slot_full: "That slot is already full.",
    reserved_for_referrals: "The places left on {date} are kept for referred patients.",
    too_short_notice: "Too soon: bookings need {minutes} minutes' notice.",
    beyond_horizon: "Too far ahead: the agenda books {days} days ahead at most.",
    double_booking: "The beneficiary already has an appointment at that time.",
    appointment_not_active: "The appointment is {status}; it cannot {action}.",
    too_early: "Too early to {action}: the appointment starts {start}.",
    not_covered: "The beneficiary has no coverage valid on {date}.",
    already_waiting: "The beneficiary is already waiting for {service}.",
    illegal_transition: "The referral is {status}; it cannot {action}.",
    no_agreement: "No agreement lets {from} refer to {to} for {service}.",
    no_destination: "No facility of tier {tier} can take {service} for this beneficiary.",
    idempotency_key_reused: "This request was already used for something else.",
    offline: "The host cannot be reached; this action needs the connection.",
    unauthenticated: "The token was not accepted by the host.",
    token_expired: "The token has expired: ask the agency for a new one.",
    unavailable: "The host is not available right now.",
    identity_not_mapped: "Your agency account gives no role or agency in Enlace: ask the agency's administrator to assign one.",
    identity_provider_unavailable: "The host cannot reach the agency's identity provider right now; try again shortly.",
    sign_in_not_configured: "This host offers no sign-in with an agency account: paste tokens instead.",
    sign_in_expired: "Your sign-in has expired: sign in again.",
    sign_in_provider_error: "The agency's identity provider did not sign you in ({error}).",
    sign_in_state_mismatch: "The identity provider's answer does not belong to this page's sign-in; nothing was kept. Sign in again.",
    sign_in_token_failed: "The identity provider gave this page no token ({error}); sign in again.",
    sign_in_provider_unreachable: "The agency's identity provider cannot be reached.",
    incompatible_host: "This host's API description (/openapi.json) does not name the engine's commands and queries; the page cannot work with it.",
    commit_failed: "The host could not save the change; nothing was applied.",
    engine_trap: "The engine failed on this request; nothing was applied.",
    malformed_json: "The request was not valid.",
    invalid_body: "The host refused a value of the form as malformed.",
    invalid_header: "The request was not valid.",
    invalid_path: "The request was not valid.",
    method_not_allowed: "The host does not take this action here.",
    invalid_parameter: "A value was not valid.",
    unknown_field: "A field was not recognised.",
    unknown_parameter: "A parameter was not recognised.",
    bad_shape: "This value is not in the expected form.",
    not_found: "Not found.",
    internal: "Unexpected error on the host.",
    required: "This field is required.",
    unknown: "Refused ({code}): {message}",
  },
  es: {
    invalid_input: "Revise {field}: {reason}.",
    invalid_input_here: "Revise este campo: {reason}.",
    unknown_facility: "No existe la unidad {facility}.",
    unknown_service: "No existe el servicio {service}.",
    unknown_agenda: "No existe la agenda {agenda}.",
    unknown_beneficiary: "No existe el derechohabiente {beneficiary}.",
    unknown_appointment: "No existe la cita {appointment}.",
    unknown_waitlist_entry: "No existe la entrada {entry} de la lista de espera.",
    unknown_referral: "No existe la referencia {referral}.",
    unknown_agreement: "No existe el convenio {agreement}.",
    unknown_time_zone: "Zona horaria desconocida: {time_zone}.",
    unknown_resource: "No se encontró {resource_type}/{id}.",
    already_exists: "{id} ya existe.",
    service_not_offered: "La unidad {facility} no ofrece {service}.",
    not_permitted: "Su rol ({role}) no permite {action}.",
    outside_availability: "Ese horario no pertenece a la agenda.",
    agenda_closed: "La agenda está cerrada el {date}.",
    slot_full: "Ese horario ya está lleno.",
    reserved_for_referrals: "Los lugares restantes del {date} están reservados para pacientes referidos.",
    too_short_notice: "Demasiado pronto: se requieren {minutes} minutos de aviso.",
    beyond_horizon: "Demasiado lejos: la agenda acepta citas hasta {days} días adelante.",
    double_booking: "El derechohabiente ya tiene una cita a esa hora.",
    appointment_not_active: "La cita está {status}; no se puede {action}.",
    too_early: "Aún es pronto para {action}: la cita empieza {start}.",
    not_covered: "El derechohabiente no tiene cobertura vigente el {date}.",
    already_waiting: "El derechohabiente ya espera {service}.",
    illegal_transition: "La referencia está {status}; no se puede {action}.",
    no_agreement: "Ningún convenio permite a {from} referir a {to} para {service}.",
    no_destination: "Ninguna unidad de nivel {tier} puede recibir {service} para este derechohabiente.",
    idempotency_key_reused: "Esta solicitud ya se usó para otra cosa.",
    offline: "No se alcanza el servidor; esta acción necesita conexión.",
    unauthenticated: "El servidor no aceptó el token.",
    token_expired: "El token venció: pida uno nuevo a la institución.",
    unavailable: "El servidor no está disponible ahora.",
    identity_not_mapped: "Su cuenta de la institución no indica un rol ni una institución en Enlace: pida a la administración de la institución que se los asigne.",
    identity_provider_unavailable: "El servidor no alcanza ahora el proveedor de identidad de la institución; intente de nuevo en un momento.",
    sign_in_not_configured: "Este servidor no ofrece entrar con la cuenta de la institución: pegue tokens.",
    sign_in_expired: "Su sesión venció: vuelva a entrar.",
    sign_in_provider_error: "El proveedor de identidad de la institución no inició la sesión ({error}).",
    sign_in_state_mismatch: "La respuesta del proveedor de identidad no corresponde al inicio de sesión de esta página; no se guardó nada. Vuelva a entrar.",
    sign_in_token_failed: "El proveedor de identidad no entregó un token a esta página ({error}); vuelva a entrar.",
    sign_in_provider_unreachable: "No se alcanza el proveedor de identidad de la institución.",
    incompatible_host: "La descripción de la API de este servidor (/openapi.json) no nombra los comandos y consultas del motor; la página no puede trabajar con él.",
    commit_failed: "El servidor no pudo guardar el cambio; no se aplicó nada.",
    engine_trap: "El motor falló con esta solicitud; no se aplicó nada.",
    malformed_json: "La solicitud no era válida.",
    invalid_body: "El servidor rechazó un valor mal formado del formulario.",
    invalid_header: "La solicitud no era válida.",
    invalid_path: "La solicitud no era válida.",
    method_not_allowed: "El servidor no acepta esta acción aquí.",
    invalid_parameter: "Un valor no era válido.",
    unknown_field: "Un campo no fue reconocido.",
    unknown_parameter: "Un parámetro no fue reconocido.",
    bad_shape: "Este valor no tiene la forma esperada.",
    not_found: "No encontrado.",
    internal: "Error inesperado en el servidor.",
    required: "Este campo es obligatorio.",
    unknown: "Rechazado ({code}): {message}",
  },
  pt: {
    invalid_input: "Verifique {field}: {reason}.",
    invalid_input_here: "Verifique este campo: {reason}.",
    unknown_facility: "Não existe a unidade {facility}.",
    unknown_service: "Não existe o serviço {service}.",
    unknown_agenda: "Não existe a agenda {agenda}.",
    unknown_beneficiary: "Não existe o beneficiário {beneficiary}.",
    unknown_appointment: "Não existe a consulta {appointment}.",
    unknown_waitlist_entry: "Não existe o registro {entry} da lista de espera.",
    unknown_referral: "Não existe o encaminhamento {referral}.",
    unknown_agreement: "Não existe o convênio {agreement}.",
    unknown_time_zone: "Fuso horário desconhecido: {time_zone}.",
    unknown_resource: "{resource_type}/{id} não foi encontrado.",
    already_exists: "{id} já existe.",
    service_not_offered: "A unidade {facility} não oferece {service}.",
    not_permitted: "Seu papel ({role}) não permite {action}.",
    outside_availability: "Esse horário não pertence à agenda.",
    agenda_closed: "A agenda está fechada em {date}.",
    slot_full: "Esse horário já está lotado.",
    reserved_for_referrals: "As vagas restantes de {date} são reservadas a pacientes encaminhados.",
    too_short_notice: "Cedo demais: é preciso {minutes} minutos de antecedência.",
    beyond_horizon: "Longe demais: a agenda aceita até {days} dias à frente.",
    double_booking: "O beneficiário já tem consulta nesse horário.",
    appointment_not_active: "A consulta está {status}; não é possível {action}.",
    too_early: "Ainda é cedo para {action}: a consulta começa {start}.",
    not_covered: "O beneficiário não tem cobertura válida em {date}.",
    already_waiting: "O beneficiário já aguarda {service}.",
    illegal_transition: "O encaminhamento está {status}; não é possível {action}.",
    no_agreement: "Nenhum convênio permite a {from} encaminhar a {to} para {service}.",
    no_destination: "Nenhuma unidade de nível {tier} pode receber {service} para este beneficiário.",
    idempotency_key_reused: "Esta solicitação já foi usada para outra coisa.",
    offline: "O servidor está inacessível; esta ação precisa de conexão.",
    unauthenticated: "O servidor não aceitou o token.",
    token_expired: "O token expirou: peça um novo à instituição.",
    unavailable: "O servidor não está disponível agora.",
    identity_not_mapped: "Sua conta da instituição não indica um papel nem uma instituição no Enlace: peça à administração da instituição que os atribua.",
    identity_provider_unavailable: "O servidor não alcança agora o provedor de identidade da instituição; tente de novo em instantes.",
    sign_in_not_configured: "Este servidor não oferece entrar com a conta da instituição: cole tokens.",
    sign_in_expired: "Sua sessão expirou: entre novamente.",
    sign_in_provider_error: "O provedor de identidade da instituição não iniciou a sessão ({error}).",
    sign_in_state_mismatch: "A resposta do provedor de identidade não corresponde ao login desta página; nada foi guardado. Entre novamente.",
    sign_in_token_failed: "O provedor de identidade não entregou um token a esta página ({error}); entre novamente.",
    sign_in_provider_unreachable: "O provedor de identidade da instituição está inacessível.",
    incompatible_host: "A descrição da API deste servidor (/openapi.json) não nomeia os comandos e consultas do motor; a página não pode trabalhar com ele.",
    commit_failed: "O servidor não conseguiu salvar; nada foi aplicado.",
    engine_trap: "O motor falhou nesta solicitação; nada foi aplicado.",
    malformed_json: "A solicitação não era válida.",
    invalid_body: "O servidor recusou um valor malformado do formulário.",
    invalid_header: "A solicitação não era válida.",
    invalid_path: "A solicitação não era válida.",
    method_not_allowed: "O servidor não aceita esta ação aqui.",
    invalid_parameter: "Um valor não era válido.",
    unknown_field: "Um campo não foi reconhecido.",
    unknown_parameter: "Um parâmetro não foi reconhecido.",
    bad_shape: "Este valor não está na forma esperada.",
    not_found: "Não encontrado.",
    internal: "Erro inesperado no servidor.",
    required: "Este campo é obrigatório.",
    unknown: "Recusado ({code}): {message}",
  },
};

/** The engine's action phrases (error details `action`) in each language. */
const ACTIONS = {
  "accept": { es: "aceptar", pt: "aceitar" },
  "act for another agency": { es: "actuar por otra institución", pt: "atuar por outra instituição" },
  "ask for referral destinations": { es: "consultar destinos de referencia", pt: "consultar destinos de encaminhamento" },
  "acknowledge": { es: "acusar recibo de", pt: "confirmar o recebimento de" },
  "add closures": { es: "agregar cierres", pt: "adicionar fechamentos" },
  "book appointments": { es: "agendar citas", pt: "agendar consultas" },
  "cancel": { es: "cancelar", pt: "cancelar" },
  "change coverage": { es: "cambiar la cobertura", pt: "alterar a cobertura" },
  "close": { es: "cerrar", pt: "encerrar" },
  "configure agendas": { es: "configurar agendas", pt: "configurar agendas" },
  "configure the network": { es: "configurar la red", pt: "configurar a rede" },
  "create referrals": { es: "crear referencias", pt: "criar encaminhamentos" },
  "declare holidays": { es: "declarar feriados", pt: "declarar feriados" },
  "define agreements": { es: "definir convenios", pt: "definir convênios" },
  "define services": { es: "definir servicios", pt: "definir serviços" },
  "escalate": { es: "escalar", pt: "escalar" },
  "fulfill": { es: "marcar como atendida", pt: "marcar como realizada" },
  "manage the waitlist": { es: "gestionar la lista de espera", pt: "gerir a lista de espera" },
  "mark arrival": { es: "registrar la llegada", pt: "registrar a chegada" },
  "mark no-show": { es: "registrar la inasistencia", pt: "registrar a falta" },
  "no-show": { es: "registrar la inasistencia", pt: "registrar a falta" },
  "read beneficiary records": { es: "consultar derechohabientes", pt: "consultar beneficiários" },
  "read the audit trail": { es: "leer la bitácora de auditoría", pt: "ler a trilha de auditoria" },
  "read the records": { es: "consultar los registros", pt: "consultar os registros" },
  "receive": { es: "recibir", pt: "receber" },
  "record care": { es: "registrar la atención", pt: "registrar o atendimento" },
  "redirect": { es: "redirigir", pt: "redirecionar" },
  "refer for another agency's facility": { es: "referir por una unidad de otra institución", pt: "encaminhar por uma unidade de outra instituição" },
  "register beneficiaries": { es: "registrar derechohabientes", pt: "cadastrar beneficiários" },
  "register facilities": { es: "registrar unidades", pt: "cadastrar unidades" },
  "reject": { es: "rechazar", pt: "recusar" },
  "report conditionalities": { es: "informar condicionalidades", pt: "informar condicionalidades" },
  "reschedule": { es: "reprogramar", pt: "remarcar" },
  "schedule": { es: "programar", pt: "agendar" },
  "send a counter-referral for": { es: "enviar la contrarreferencia de", pt: "enviar a contrarreferência de" },
  "verify the audit trail": { es: "verificar la bitácora de auditoría", pt: "verificar a trilha de auditoria" },
};

/**
 * A `not_permitted` action in the user's language: the action is a fixed
 * phrase of core (a key of ACTIONS), the facility it was asked at comes
 * apart in `details.scope` ("book appointments" at "F0004" → "agendar citas
 * en F0004"). An unknown phrase stays as core wrote it.
 */
function actionText(action, scope) {
  const lang = language();
  // "accept referrals": a step of the referral loop (core's `{verb} referrals`).
  const verb = /^(.+) referrals$/.exec(action)?.[1];
  const ofReferrals = verb && ACTIONS[verb] && `${ACTIONS[verb][lang]} ${{ es: "referencias", pt: "encaminhamentos" }[lang]}`;
  const phrase = lang === "en" ? action : ACTIONS[action]?.[lang] ?? ofReferrals ?? action;
  if (!scope) return phrase;
  return `${phrase} ${{ en: "at", es: "en", pt: "em" }[lang]} ${scope}`;
}

/**
 * Why the engine refused an input (`invalid_input`), in each language, by
 * the code of the rule broken (`details.rule`, one of INPUT_RULES of
 * ./generated/enums.js); the rule's parameters (`min`, `max`, `other`,
 * `value`, …) fill the {placeholders}. English shows core's own phrase
 * (`details.reason`). Nothing here reads the English text.
 */
const RULES = {
  required: { es: "no puede quedar vacío", pt: "não pode ficar vazio" },
  too_long: { es: "como máximo {max} bytes", pt: "no máximo {max} bytes" },
  too_short: { es: "al menos {min} caracteres", pt: "pelo menos {min} caracteres" },
  length: { es: "debe tener de {min} a {max} caracteres", pt: "deve ter de {min} a {max} caracteres" },
  spaces: { es: "no debe contener espacios ni caracteres de control", pt: "não deve conter espaços nem caracteres de controle" },
  control_characters: { es: "no debe contener caracteres de control", pt: "não deve conter caracteres de controle" },
  too_many: { es: "como máximo {max} elementos", pt: "no máximo {max} itens" },
  too_few: { es: "al menos {min} elementos", pt: "pelo menos {min} itens" },
  out_of_range: { es: "entre {min} y {max}", pt: "entre {min} e {max}" },
  period_days: { es: "debe ser de {min} a {max} días después del inicio", pt: "deve ser de {min} a {max} dias após o início" },
  year_out_of_range: { es: "el año debe estar entre {min} y {max}", pt: "o ano deve estar entre {min} e {max}" },
  not_icd10: { es: "«{value}» no es un código CIE-10 (p. ej. O14.1)", pt: "«{value}» não é um código CID-10 (ex.: O14.1)" },
  not_media_type: { es: "debe tener la forma tipo/subtipo", pt: "deve ter a forma tipo/subtipo" },
  not_a_number: { es: "debe ser un número", pt: "deve ser um número" },
  in_future: { es: "está en el futuro", pt: "está no futuro" },
  not_after: { es: "debe ser posterior a {other}", pt: "deve ser posterior a {other}" },
  before: { es: "es anterior a {other}", pt: "é anterior a {other}" },
  repeated: { es: "aparece más de una vez", pt: "aparece mais de uma vez" },
  overlaps: { es: "se superpone con otro bloque del mismo día", pt: "sobrepõe-se a outro bloco do mesmo dia" },
  same_slot: { es: "es el horario actual de la cita", pt: "é o horário atual da consulta" },
  wrong_agenda: { es: "debe ser una agenda de la unidad y el servicio correspondientes", pt: "deve ser uma agenda da unidade e do serviço correspondentes" },
  agenda_moves: { es: "una agenda existente conserva su unidad y su servicio", pt: "uma agenda existente mantém sua unidade e seu serviço" },
  no_such_follow_up: {
    es: "la referencia no pide ese seguimiento en esta unidad, o ya está agendado",
    pt: "o encaminhamento não pede esse seguimento nesta unidade, ou já está agendado",
  },
  not_waiting: { es: "ya no está en espera", pt: "não está mais na espera" },
  is_origin: { es: "es la propia unidad de origen", pt: "é a própria unidade de origem" },
  not_another_facility: {
    es: "debe ser una unidad distinta del origen y del destino actual",
    pt: "deve ser uma unidade diferente da origem e do destino atual",
  },
  tier_not_higher: { es: "el nivel {tier} no es superior al nivel {current}", pt: "o nível {tier} não é superior ao nível {current}" },
  not_applicable: { es: "no corresponde a esta solicitud", pt: "não se aplica a esta solicitação" },
  unsupported_parameter: { es: "no es un parámetro de búsqueda de {resource_type} en este servidor", pt: "não é um parâmetro de busca de {resource_type} neste servidor" },
  unsupported_resource_type: { es: "{resource_type} no está disponible", pt: "{resource_type} não está disponível" },
  malformed: { es: "no tiene la forma esperada", pt: "não está na forma esperada" },
};

function reasonText(details) {
  const lang = language();
  if (lang === "en") return details.reason ?? "";
  const phrase = RULES[details.rule]?.[lang];
  return phrase ? fill(phrase, details) : details.reason ?? "";
}

/** Whether an input rule has its phrase in each language (tests check every rule of ./generated/enums.js). */
export function knownRule(rule) {
  return Boolean(RULES[rule]?.es && RULES[rule]?.pt);
}

/** The user's phrase for an engine or host error, from its stable code. */
export function errorText(err, placed = false) {
  const table = ERRORS[language()];
  const details = { ...(err.details || {}), code: err.code, message: err.message };
  if (err.code === "invalid_input") details.reason = reasonText(details);
  // Next to its control, the field's path says nothing the label does not.
  if (placed && err.code === "invalid_input") return fill(table.invalid_input_here, details);
  // Dates and instants inside details read better in the user's format.
  if (details.start && /T/.test(details.start)) details.start = formatInstant(details.start);
  if (details.status) details.status = t(`st_${details.status.replace(/-/g, "_")}`);
  if (details.role) details.role = t(`role_${details.role}`);
  if (details.action) details.action = actionText(details.action, details.scope);
  const template = table[err.code] ?? table.unknown;
  return fill(template, details);
}

/** Whether a code has its own phrase (tests check every code of ./generated/enums.js). */
export function knownError(code) {
  return Object.hasOwn(ERRORS.en, code) && Object.hasOwn(ERRORS.es, code) && Object.hasOwn(ERRORS.pt, code);
}
