import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import './i18n.ts';
import './patient.css';
import { PatientApp } from './PatientApp.tsx';

const root = document.getElementById('root');
if (root)
  createRoot(root).render(
    <StrictMode>
      <PatientApp />
    </StrictMode>,
  );
