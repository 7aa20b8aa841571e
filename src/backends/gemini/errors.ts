// The service's error type lives at the seam (both backends throw it); re-exported for this backend's modules.
export * from '../../backend/service-error.js';
