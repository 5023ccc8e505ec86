// Vite handles CSS imports: they have no exports the app uses.
declare module '*.css';
